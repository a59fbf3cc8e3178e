"""A hand-made workspace for the feature tests: CSV text written here, ingested for real.

``AS_OF`` is 2024-07-01 (midnight UTC). Day counts to it, used in the expected values of
``test_features.py``: 2024-06-30 12:00 -> 0.5, 06-25 -> 6, 06-21 -> 10, 06-20 -> 11,
06-11 -> 20, 06-10 -> 21, 06-01 -> 30, 05-20 -> 42, 05-15 -> 47, 05-02 -> 60, 05-01 -> 61,
04-10 -> 82, 04-01 -> 91, 03-20 -> 103, 03-15 -> 108, 03-01 -> 122, 02-11 -> 141,
02-02 -> 150, 02-01 -> 151, 01-01 -> 182, 2023-06-01 -> 396, 2023-01-01 -> 547.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent

import pytest

from churnguard.warehouse import Workspace
from churnguard.warehouse.ingest import ingest_file

# the trained simulated workspace, registered here (not imported by each test module) so
# it is simulated and trained once per session, however many modules use it
from .fixtures_predict import sim_root, trained  # noqa: F401

AS_OF = "2024-07-01"

# c1: a long-standing buyer with a month-to-month subscription, complaints, an open request
# c2: a subscriber who downgraded, buys less; c3: unknown signup (tenure from first order)
# c4: signs up after AS_OF: never in the output.  "Churn" is a label: never a feature.
CUSTOMERS = """
customer_id,signup_at,region,industry,acquisition_channel,first_offer,plan,contract_type,loyalty_tier,loyalty_points,seats,segment,Churn
c1,2023-01-01,north,retail,web,discount,basic,,gold,120,5,smb,no
c2,2024-01-01,south,saas,partner,free_trial,pro,annual,,,12,ent,yes
c3,,east,,,,,,,,,,
c4,2024-08-01,west,,,,,,,,1,smb,no
"""
ORDERS = """
order_id,customer_id,ordered_at,amount,promotion
o1,c1,2024-06-21,100,SUMMER
o2,c1,2024-05-02,50,
o3,c1,2024-02-02,30,
o4,c1,2024-07-01,999,
o5,c1,2023-06-01,20,WELCOME
o6,c2,2024-03-15,200,
o7,c2,2024-06-01,-50,
o8,c3,2024-04-01,10,
o9,c4,2024-08-05,10,
"""
INTERACTIONS = """
interaction_id,customer_id,at,channel,kind,direction
i1,c1,2024-06-25,login,login,inbound
i2,c1,2024-06-10,email,email_open,inbound
i3,c1,2024-03-01,login,login,inbound
i4,c1,2024-03-20,login,login,inbound
i5,c1,2024-05-01,call,follow_up,outbound
i6,c1,2024-06-01,chat,quote_request,
i7,c1,2024-04-10,web,info_request,inbound
i8,c1,2024-07-05,call,follow_up,outbound
i9,c3,2024-06-30 12:00:00,visit,store_visit,inbound
"""
TICKETS = """
ticket_id,customer_id,opened_at,resolved_at,is_complaint,satisfaction
t1,c1,2024-06-20,,true,
t2,c1,2024-06-11,2024-07-03,true,
t3,c1,2024-05-15,2024-05-20,true,8
t4,c1,2024-02-01,2024-02-11,false,6
t5,c1,2024-07-02,,true,
"""
FEEDBACK = """
feedback_id,customer_id,at,source,score
f1,c1,2024-01-10,nps,9
f2,c1,2024-06-01,nps,4
f3,c1,2024-07-10,nps,0
f4,c1,2024-05-01,csat,4
f5,c1,2024-06-15,exit_survey,1
"""
SUBSCRIPTIONS = """
subscription_id,customer_id,started_at,ended_at,plan,mrr,contract_months,previous_subscription_id
s1,c2,2024-01-01,2024-05-01,pro,100,12,
s2,c2,2024-05-01,,basic,60,12,s1
s3,c1,2023-01-01,2024-08-01,basic,30,1,
"""
FIXTURE_TABLES = {
    "customers": CUSTOMERS, "subscriptions": SUBSCRIPTIONS, "orders": ORDERS,
    "interactions": INTERACTIONS, "tickets": TICKETS, "feedback": FEEDBACK,
}


def make_workspace(root: Path, tables: dict[str, str]) -> Workspace:
    """A fresh workspace in ``root`` with each CSV text of ``tables`` ingested (in order)."""
    ws = Workspace.init(root)
    for table, text in tables.items():
        path = root / f"{table}.csv"
        path.write_text(dedent(text).strip() + "\n", encoding="utf-8")
        ingest_file(ws, table, path)
    return ws


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The hand-made workspace above (built once per test module)."""
    ws = make_workspace(tmp_path_factory.mktemp("features") / "shop", FIXTURE_TABLES)
    yield ws
    ws.close()
