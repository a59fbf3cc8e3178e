"""The hand-made fixtures: small businesses whose labels and rates are worked out by hand.

Every test date is 2024 (a leap year: February has 29 days).
"""

# -- non-contractual: a shop; inactive_days = 60 in the tests ---------------------------
#   N1 signup 01-01, orders 01-10, 02-15          -> last 02-15, churn 02-15+60 = 04-15
#   N2 signup 01-15, order 01-20, login in 03-10, e-mail OUT 05-01 (not activity)
#                                                  -> last 03-10, churn 03-10+60 = 05-09
#   N3 signup 02-01, orders 02-05, 05-01, 06-20    gap 02-05..05-01 = 86 > 60: two episodes
#        ep1 02-01..02-05, churn 04-05; ep2 05-01..06-20 (gap 50), due 08-19: censored
#   N4 signup 03-01, order 06-25                   gap 116: ep1 03-01, churn 04-30;
#        ep2 06-25, censored
#   N5 signup 05-20, nothing else                  due 07-19 > as_of: censored
#   N6 signup 04-02, order 06-01                   gap exactly 60 (not > 60): one episode,
#        last 06-01, due 07-31: censored
SHOP_CUSTOMERS = """
customer_id,signup_at,industry,region
N1,2024-01-01,wholesale,north
N2,2024-01-15,wholesale,south
N3,2024-02-01,retail,north
N4,2024-03-01,retail,south
N5,2024-05-20,retail,north
N6,2024-04-02,retail,south
"""
SHOP_ORDERS = """
order_id,customer_id,ordered_at,amount
o1,N1,2024-01-10,100
o2,N1,2024-02-15,50
o3,N2,2024-01-20,20
o4,N3,2024-02-05,10
o5,N3,2024-05-01,10
o6,N3,2024-06-20,10
o7,N4,2024-06-25,500
o8,N6,2024-06-01,5
"""
SHOP_INTERACTIONS = """
interaction_id,customer_id,at,channel,direction
i1,N2,2024-03-10,login,inbound
i2,N2,2024-05-01,email,outbound
"""
SHOP_AS_OF = "2024-07-01"

# -- contractual: a SaaS; grace_days = 0 unless said --------------------------------------
#   C1 01-01..02-01, 02-01..03-01 (renewal), 03-01..04-10 (plan change): one episode,
#        churn 04-10
#   C2 01-10..open                                  active
#   C3 01-15..03-15, then 05-01..open               ep1 churn 03-15; ep2 reactivation
#   C4 02-01..06-30                                 churn 06-30 (grace 0: 07-01 is a later day)
#   C5 02-10..03-31 10:00, 03-31 15:00..open        same-day restart: one episode, active
#   C6 03-01..05-31, 06-03..open                    grace 0: churn 05-31, ep2 06-03;
#                                                   grace 5: one episode, active
#   C7 04-01..06-01, 04-15..05-10 (nested), 06-01..open
#        the running maximum of ends (06-01), not the previous row's (05-10): one episode
#   C8 06-20..08-01                                 ends after as_of: still open at as_of
SAAS_CUSTOMERS = """
customer_id,signup_at,plan,contract_type
C1,2024-01-01,basic,month-to-month
C2,2024-01-10,pro,annual
C3,2024-01-15,basic,month-to-month
C4,2024-02-01,pro,month-to-month
C5,2024-02-10,basic,annual
C6,2024-03-01,pro,month-to-month
C7,2024-04-01,basic,annual
C8,2024-06-20,pro,month-to-month
"""
SAAS_SUBSCRIPTIONS = """
subscription_id,customer_id,started_at,ended_at,plan,mrr,contract_months
s1,C1,2024-01-01,2024-02-01,basic,10,1
s2,C1,2024-02-01,2024-03-01,basic,10,1
s3,C1,2024-03-01,2024-04-10,pro,30,1
s4,C2,2024-01-10,,pro,30,12
s5,C3,2024-01-15,2024-03-15,basic,10,1
s6,C3,2024-05-01,,basic,10,1
s7,C4,2024-02-01,2024-06-30,pro,30,1
s8,C5,2024-02-10,2024-03-31T10:00:00,basic,10,12
s9,C5,2024-03-31T15:00:00,,pro,30,12
s10,C6,2024-03-01,2024-05-31,pro,30,1
s11,C6,2024-06-03,,pro,30,1
s12,C7,2024-04-01,2024-06-01,basic,10,12
s13,C7,2024-04-15,2024-05-10,addon,5,1
s14,C7,2024-06-01,,basic,10,12
s15,C8,2024-06-20,2024-08-01,pro,30,1
"""
SAAS_AS_OF = "2024-07-01"

# -- churned vs active: a SaaS with tickets, orders and interactions; as_of 2024-07-01,
#    window 90 days. Reference dates: K1 churns 04-01 (window 01-02..04-01), K2 churns 05-01
#    (window 02-01..05-01); K3, K4, K5 are active (reference 07-01, window 04-02..07-01).
#    Every customer started at least 90 days before their reference: all five are compared.
#                     K1 (churned)  K2 (churned)  K3 (active)   K4 (active)  K5 (active)
#   complaints        t1, t2 = 2    t3 = 1 (t4 is  0 (t5 is not  0            t6 = 1
#                                   before 02-01)  a complaint)
#   tickets           2             1             1             0            1
#   resolution hours  (48+24)/2=36  24            12            -            24
#   orders            2 (01-10,     1             3             1            0
#                     03-15)
#   order amount      40+100=140    60            30+30+40=100  200          0
#   promotions        1 (SPRING)    0             1 (SUMMER)    0            0
#   last product      P1 (03-15)    P2            P2 (06-25)    P1           (none)
#   events attended   0             1             2             0            1
#   e-mail (own)      1             0             3 (+1 out)    1            1
COMPARE_CUSTOMERS = """
customer_id,signup_at,plan,contract_type
K1,2024-01-01,basic,month-to-month
K2,2024-01-01,basic,month-to-month
K3,2024-01-01,pro,annual
K4,2024-02-01,pro,annual
K5,2024-03-01,basic,month-to-month
"""
COMPARE_SUBSCRIPTIONS = """
subscription_id,customer_id,started_at,ended_at,plan,mrr,contract_months,cancel_reason
s1,K1,2024-01-01,2024-04-01,basic,10,1,price
s2,K2,2024-01-01,2024-05-01,basic,10,1,competitor
s3,K3,2024-01-01,,pro,30,12,
s4,K4,2024-02-01,,pro,30,12,
s5,K5,2024-03-01,,basic,10,1,
"""
COMPARE_TICKETS = """
ticket_id,customer_id,opened_at,resolved_at,category,is_complaint
t1,K1,2024-03-01,2024-03-03,billing,true
t2,K1,2024-03-10,2024-03-11,outage,true
t3,K2,2024-04-01,2024-04-02,outage,true
t4,K2,2024-01-15,2024-01-16,billing,true
t5,K3,2024-05-01,2024-05-01T12:00:00,howto,false
t6,K5,2024-06-01,2024-06-02,billing,true
"""
COMPARE_ORDERS = """
order_id,customer_id,ordered_at,amount,product,promotion
o1,K1,2024-01-10,40,P2,
o2,K1,2024-03-15,100,P1,SPRING
o3,K2,2024-04-20,60,P2,
o4,K3,2024-05-05,30,P1,
o5,K3,2024-06-05,30,P1,
o6,K3,2024-06-25,40,P2,SUMMER
o7,K4,2024-06-10,200,P1,
"""
COMPARE_INTERACTIONS = """
interaction_id,customer_id,at,channel,kind,direction
i1,K1,2024-02-01,email,email_open,inbound
i2,K2,2024-03-01,event,event_attended,inbound
i3,K3,2024-05-01,event,event_attended,inbound
i4,K3,2024-06-01,event,event_attended,inbound
i5,K3,2024-05-02,email,email_open,inbound
i6,K3,2024-05-03,email,email_open,inbound
i7,K3,2024-05-04,email,info_request,inbound
i8,K3,2024-05-05,email,email_sent,outbound
i9,K4,2024-06-01,email,email_open,inbound
i10,K5,2024-06-01,email,email_open,inbound
i11,K5,2024-06-02,event,event_attended,inbound
"""
COMPARE_AS_OF = "2024-07-01"
