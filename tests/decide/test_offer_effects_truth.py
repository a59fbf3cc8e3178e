"""The simulator's true effect of each retention offer on the customers active at the end."""

from __future__ import annotations

import numpy as np

from churnguard.simulate import generate
from churnguard.simulate.campaigns import RETENTION_OFFERS


def test_offer_effects_cover_every_active_customer_and_are_heterogeneous() -> None:
    biz = generate(customers=4_000, months=24, seed=2)
    eff = biz.truth["offer_effects"].to_pandas()
    cust = biz.truth["customers"].to_pandas().set_index("customer_id")
    active = set(cust.index[cust["true_active_at_end"]])
    assert set(eff["customer_id"]) == active
    assert len(eff) == 4 * len(active)
    assert set(eff["offer"]) == set(RETENTION_OFFERS)
    np.testing.assert_allclose(eff["true_offer_effect"],
                               eff["true_p_lost_offer"] - eff["true_p_lost_control"])
    for col in ("true_p_lost_control", "true_p_lost_offer", "true_p_accept"):
        assert eff[col].between(0, 1).all()
    # "do not disturb" customers churn more when contacted; the others are helped
    dnd = cust["true_do_not_disturb"].reindex(eff["customer_id"]).to_numpy()
    by = eff.groupby(dnd)["true_offer_effect"].mean()
    assert by[True] > 0 > by[False]
    # a discount helps month-to-month customers more than annual ones
    contract = biz.tables["customers"].to_pandas().set_index("customer_id")[
        "contract_type"].reindex(eff["customer_id"]).to_numpy()
    disc = eff[(eff["offer"] == "discount_20pct").to_numpy() & ~dnd]
    c = contract[(eff["offer"] == "discount_20pct").to_numpy() & ~dnd]
    assert disc["true_offer_effect"][c == "month-to-month"].mean() < disc[
        "true_offer_effect"][c == "annual"].mean()
    # customers already on their way out are lost whatever is offered
    gone = eff["true_p_lost_control"] == 1.0
    assert (eff.loc[gone, "true_offer_effect"] == 0).all()
