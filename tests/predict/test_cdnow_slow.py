"""CDNOW (real data): label = any purchase in weeks 40-78, features from weeks 1-39.

The model and the logistic regression (5-fold stratified cross-validation of all 23,570
customers, :func:`split_ids` seed 0; each fold fitted by :func:`fit_rows` with its own 80/20
split for early stopping and calibration) are reported beside BG/NBD expected purchases in
weeks 40-78 (fitted on weeks 1-39 of every customer, needs no labels). AUC pooled over the
out-of-fold predictions, and per fold:

===========================  ======  ==================================
score                        pooled  folds
===========================  ======  ==================================
model (LightGBM)             0.772   0.776 0.770 0.778 0.771 0.770
logistic regression          0.771   0.772 0.767 0.779 0.770 0.769
BG/NBD expected purchases    0.763   0.760 0.757 0.772 0.762 0.764
===========================  ======  ==================================

Before the purchase-rhythm features (``purchase_days_total`` ... ``amount_per_item``) and
early stopping on validation log loss instead of AUC, the model scored 0.7706. The
issue's target of 0.775 is not reached: LightGBM trained on the full folds with a grid of
tree sizes and rounds peaks at 0.774 on these features, so the remaining gap is not in the
settings. Nor, as far as measured, in the features: in December 2026, 49 further
order-history candidates (purchase days in the last 7/14/60 days, time-decayed counts and
spend with half-lives of 30-180 days, gap spread and extremes, first-to-second purchase
time, spend of the first, second and last purchase days against the customer's mean,
distinct purchase weeks and months, span over tenure, ...), each added alone and all
together, moved the pooled AUC by at most +0.0005 over three fold seeds (today's features:
0.7723 / 0.7710 / 0.7714; the best addition, purchase days in the last 60 days, 0.7729 /
0.7713 / 0.7717), which is within the seeds' spread, so none was added.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from churnguard.datasets.paths import shared_data_dir
from churnguard.errors import InputError
from churnguard.predict.baselines import LogisticBaseline, bgnbd_scores
from churnguard.predict.dataset import workspace_tables
from churnguard.predict.features import compute_features, feature_registry
from churnguard.predict.metrics import auc
from churnguard.predict.pipeline import fit_rows, split_ids
from churnguard.warehouse import Workspace

log = logging.getLogger(__name__)

AS_OF = datetime(1997, 10, 1, tzinfo=UTC)  # end of week 39
END = datetime(1998, 7, 1, tzinfo=UTC)  # end of week 78
FOLDS = 5
#: measured 0.772 (see the module docstring); the issue's target is 0.775
MODEL_AUC_AT_LEAST = 0.771


@pytest.mark.slow
def test_cdnow_model_vs_bgnbd(tmp_path: Path) -> None:
    from churnguard.datasets import load_cdnow

    try:
        shared_data_dir(None)
    except InputError:  # the shared data folder is not on this machine
        pytest.skip("CDNOW data not available")
    with Workspace.init(tmp_path / "cdnow") as ws:
        load_cdnow(ws)
        tables = workspace_tables(ws)
        reg = feature_registry(tables)
        f = compute_features(tables, AS_OF)
        o = tables["orders"]
        later = o.filter((o.ordered_at >= AS_OF) & (o.ordered_at < END))
        buyers = set(later.select("customer_id").distinct().to_pandas()["customer_id"])
        bg = bgnbd_scores(o, AS_OF, f["customer_id"].tolist(), 273)
    f["churned"] = (~f["customer_id"].isin(buyers)).astype(int)
    y = f["churned"].to_numpy()
    fold = split_ids(f["customer_id"].tolist(), y, FOLDS)
    p, lr = np.zeros(len(y)), np.zeros(len(y))
    for k in range(FOLDS):
        fit = fit_rows(f[fold != k], reg, seed=k, baselines=False)
        p[fold == k] = fit.model.predict_proba(f[fold == k])
        logistic = LogisticBaseline(registry=reg, features=fit.features).fit(f[fold != k],
                                                                             y[fold != k])
        lr[fold == k] = logistic.predict_proba(f[fold == k])
    bg_score = -bg["expected_purchases"].to_numpy()
    per_fold = {name: [auc(y[fold == k], s[fold == k]) for k in range(FOLDS)]
                for name, s in (("model", p), ("logistic", lr), ("bgnbd", bg_score))}
    model_auc, lr_auc, bg_auc = auc(y, p), auc(y, lr), auc(y, bg_score)
    report = (f"CDNOW AUC: model {model_auc:.4f}, logistic regression {lr_auc:.4f}, BG/NBD "
              f"expected purchases {bg_auc:.4f}; per fold "
              + "; ".join(f"{n} " + " ".join(f"{a:.3f}" for a in v)
                          for n, v in per_fold.items()))
    log.info(report)  # shown with --log-cli-level=INFO
    assert bg_auc == pytest.approx(0.763, abs=0.005), report
    assert model_auc >= MODEL_AUC_AT_LEAST, report
    assert all(m > b for m, b in zip(per_fold["model"], per_fold["bgnbd"], strict=True)), report
