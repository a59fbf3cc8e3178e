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
