"""Kaplan-Meier on the SaaS fixture: by hand, and against lifelines called directly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from churnguard.errors import InputError
from churnguard.measure import survival

from ._data import SAAS_AS_OF, SAAS_CUSTOMERS, SAAS_SUBSCRIPTIONS
from .conftest import MakeWs

# First episodes (grace 0, as_of 07-01), days from start to churn or to 07-01 (censored):
#   month-to-month: C1 01-01..04-10 = 31+29+31+9 = 100 (churn); C3 01-15..03-15 =
#     17+29+14 = 60 (churn); C4 02-01..06-30 = 29+31+30+31+29 = 150 (churn); C6 03-01..05-31
#     = 31+30+30 = 91 (churn); C8 06-20..07-01 = 11 (censored)
#   annual: C2 01-10..07-01 = 22+29+31+30+31+30 = 173, C5 02-10..07-01 = 20+31+30+31+30 =
#     142, C7 04-01..07-01 = 30+31+30 = 91 (all censored)
M2M = {"C1": (100, True), "C3": (60, True), "C4": (150, True), "C6": (91, True),
       "C8": (11, False)}
ANNUAL = {"C2": (173, False), "C5": (142, False), "C7": (91, False)}


@pytest.fixture
def result(make_ws: MakeWs):  # type: ignore[no-untyped-def]
    ws = make_ws(customers=SAAS_CUSTOMERS, subscriptions=SAAS_SUBSCRIPTIONS)
    return survival(ws, by="contract_type", as_of=SAAS_AS_OF)


def test_durations_and_km_curve_by_hand(result) -> None:  # type: ignore[no-untyped-def]
    d = result.durations.set_index("customer_id")
    for cid, (days, churned) in {**M2M, **ANNUAL}.items():
        assert d.loc[cid, "duration_days"] == days and d.loc[cid, "churned"] == churned
    # m2m: C8 censored at 11 leaves 4 at risk; S(60) = 3/4; S(91) = 3/4 * 2/3 = 1/2;
    # S(100) = 1/2 * 1/2 = 1/4; S(150) = 0. Median: first t with S <= 0.5 -> 91 days
    c = result.curves[result.curves.segment == "month-to-month"]
    assert dict(zip(c.days, c.survival, strict=True)) == pytest.approx(
        {0: 1, 11: 1, 60: 0.75, 91: 0.5, 100: 0.25, 150: 0})
    s = result.summary.set_index("segment")
    assert s.loc["month-to-month", "median_days"] == 91
    assert s.loc["month-to-month", "survival_90d"] == pytest.approx(0.75)
    assert (s.loc["month-to-month", ["customers", "churned", "censored"]].tolist()
            == [5, 4, 1])
    # annual: nobody churned -> S = 1 everywhere, median beyond the data
    assert math.isinf(s.loc["annual", "median_days"])
    assert (result.curves[result.curves.segment == "annual"].survival == 1).all()


def test_against_lifelines_and_a_hand_log_rank(result) -> None:  # type: ignore[no-untyped-def]
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    t, e = zip(*M2M.values(), strict=True)
    kmf = KaplanMeierFitter().fit(list(t), list(e))
    c = result.curves[result.curves.segment == "month-to-month"]
    assert np.allclose(c.survival, kmf.survival_function_.iloc[:, 0])
    assert np.allclose(c.lower, kmf.confidence_interval_.iloc[:, 0])
    ci = median_survival_times(kmf.confidence_interval_)
    s = result.summary.set_index("segment").loc["month-to-month"]
    assert (s.median_lower, s.median_upper) == (ci.iloc[0, 0], ci.iloc[0, 1]) == (60, 150)
    # log-rank by hand, at each m2m event time (n1 m2m at risk, n2 annual at risk, 1 death):
    #   t=60: n1 4, n2 3 -> E1 4/7, V = 4*3*1*6 / (7^2*6) = 12/49
    #   t=91: n1 3, n2 3 (C7 censored at 91 is still at risk) -> E1 1/2, V 1/4
    #   t=100: 2, 2 -> 1/2, 1/4;  t=150: 1, 1 -> 1/2, 1/4
    #   O1 - E1 = 4 - (4/7 + 3/2) = 27/14;  V = 12/49 + 3/4 = 195/196
    #   chi2 = (27/14)^2 / (195/196) = 729/195 = 3.7385 on 1 df
    test = result.test.iloc[0]
    assert test.statistic == pytest.approx(729 / 195)
    assert test.degrees_of_freedom == 1
    assert test.p_value == pytest.approx(stats.chi2.sf(729 / 195, 1))


def test_one_segment_and_errors(make_ws: MakeWs) -> None:
    ws = make_ws(customers=SAAS_CUSTOMERS, subscriptions=SAAS_SUBSCRIPTIONS)
    res = survival(ws, as_of=SAAS_AS_OF, episodes="all")
    # all episodes: the 8 first ones plus C3's and C6's reactivations
    assert res.summary.customers.tolist() == [10] and res.test.empty
    with pytest.raises(InputError, match="episodes must be"):
        survival(ws, episodes="last")  # type: ignore[arg-type]
