"""RFM scores and segments on a hand-made fixture; point-in-time invariance; migrations."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from churnguard.errors import InputError
from churnguard.value.rfm import (
    SEGMENT_GRID,
    SEGMENTS,
    migration_matrix,
    rfm_scores,
    segment_migrations,
    segment_sizes,
)

AS_OF = "2025-07-01"
ROWS = [  # customer, day, amount
    ("a", "2025-06-30", 100.0), ("a", "2025-06-01", 50.0), ("a", "2025-05-01", 50.0),
    ("b", "2025-06-20", 20.0),
    ("c", "2025-03-01", 500.0), ("c", "2025-04-01", 500.0),
    ("d", "2024-07-01", 10.0),
    ("e", "2025-06-25", 30.0), ("e", "2025-06-26", 30.0), ("e", "2025-06-27", 30.0),
    ("e", "2025-06-28", 30.0),
    ("f", "2025-01-01", 40.0), ("f", "2025-07-01", 999.0),  # on as_of: not counted
]


def _orders(rows: list[tuple[str, str, float]]) -> ibis.Table:
    df = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    df["ordered_at"] = pd.to_datetime(df.pop("day"), utc=True) + pd.Timedelta(hours=10)
    return ibis.memtable(df)


def test_hand_computed_scores_and_segments() -> None:
    out = rfm_scores(_orders(ROWS), as_of=AS_OF).to_pandas().set_index("customer_id")
    # recency days to 2025-07-01: a 1, e 3, b 11, c 91, f 181, d 365
    assert out["recency_days"].to_dict() == {"a": 1, "b": 11, "c": 91, "d": 365, "e": 3,
                                             "f": 181}
    assert out["frequency"].to_dict() == {"a": 3, "b": 1, "c": 2, "d": 1, "e": 4, "f": 1}
    assert out["monetary"].to_dict() == {"a": 200.0, "b": 20.0, "c": 1000.0, "d": 10.0,
                                         "e": 120.0, "f": 40.0}
    # score = 1 + floor(5 * below / 6), below = customers strictly worse
    # R: a below 5 -> 5; e 4 -> 4; b 3 -> 3; c 2 -> 2; f 1 -> 1; d 0 -> 1
    # F: b, d, f (1 order) below 0 -> 1; c below 3 -> 3; a 4 -> 4; e 5 -> 5
    # M: d 0 -> 1; b 1 -> 1; f 2 -> 2; e 3 -> 3; a 4 -> 4; c 5 -> 5
    assert out["rfm_score"].to_dict() == {"a": "544", "b": "311", "c": "235", "d": "111",
                                          "e": "453", "f": "112"}
    # (R, F): a (5,4) Champions; b (3,1) About to sleep; c (2,3) At risk; d, f (1,1) Lost;
    # e (4,5) Loyal
    assert out["segment"].to_dict() == {"a": "Champions", "b": "About to sleep",
                                        "c": "At risk", "d": "Lost", "e": "Loyal",
                                        "f": "Lost"}


def test_point_in_time_invariance() -> None:
    later = [*ROWS, ("a", "2025-07-02", 5000.0), ("g", "2025-08-01", 1.0),
             ("d", "2025-07-01", 7.0)]
    before = rfm_scores(_orders(ROWS), as_of=AS_OF).to_pandas()
    after = rfm_scores(_orders(later), as_of=AS_OF).to_pandas()
    pd.testing.assert_frame_equal(before, after)


def test_fixed_edges_and_bins() -> None:
    out = rfm_scores(_orders(ROWS), as_of=AS_OF,
                     edges={"frequency": [1, 2, 3], "recency_days": [7, 30, 90]}
                     ).to_pandas().set_index("customer_id")
    # frequency 1 -> 1, 2 -> 2, 3 -> 3, 4 -> 4; recency <= 7 -> 4 ... > 90 -> 1
    assert out["f_score"].to_dict() == {"a": 3, "b": 1, "c": 2, "d": 1, "e": 4, "f": 1}
    assert out["r_score"].to_dict() == {"a": 4, "b": 3, "c": 1, "d": 1, "e": 4, "f": 1}
    three = rfm_scores(_orders(ROWS), as_of=AS_OF, bins=3).to_pandas()
    assert three[["r_score", "f_score", "m_score"]].isin([1, 2, 3]).all().all()
    assert three["segment"].notna().all()


def test_grid_covers_every_pair_and_names() -> None:
    assert len(SEGMENT_GRID) == 25
    assert set(SEGMENT_GRID.values()) == set(SEGMENTS)


def test_sizes_and_migrations() -> None:
    orders = _orders(ROWS)
    now = rfm_scores(orders, as_of=AS_OF)
    sizes = segment_sizes(now).to_pandas()
    assert sizes["customers"].sum() == 6
    assert sizes.set_index("segment").loc["Lost", "customers"] == 2
    assert sizes["share"].sum() == pytest.approx(1.0)
    earlier = rfm_scores(orders, as_of="2025-06-01")  # a, c, d, f had ordered
    moves = segment_migrations(earlier, now).to_pandas()
    assert moves["customers"].sum() == 6
    assert moves[moves.from_segment == "(new)"]["customers"].sum() == 2  # b and e
    mat = migration_matrix(moves)
    assert mat.to_numpy().sum() == 6
    assert mat.index[-1] == "(new)"


def test_errors() -> None:
    with pytest.raises(InputError, match="no column 'customer_id'"):
        rfm_scores(_orders(ROWS).rename(cid="customer_id"), as_of=AS_OF)
    with pytest.raises(InputError, match="bins"):
        rfm_scores(_orders(ROWS), as_of=AS_OF, bins=1)
    with pytest.raises(InputError, match="increasing"):
        rfm_scores(_orders(ROWS), as_of=AS_OF, edges={"frequency": [3, 1]})
    with pytest.raises(InputError, match="not a date"):
        rfm_scores(_orders(ROWS), as_of="yesterday")
