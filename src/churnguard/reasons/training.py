"""Train the reason classifier from a workspace's labelled feedback, evaluate it on
customers held out, and keep it as data in ``<workspace>/models/reasons/``.

The hold-out is by *customer* (a stable hash of ``customer_id``), so no customer's words
are both learned and scored: a customer writes similar texts in a survey and an interview.

>>> from churnguard.reasons.classifier import ReasonClassifier
>>> clf = ReasonClassifier(min_df=1).fit(["too expensive", "price up", "slow support",
...                                       "support ignored us"],
...                                      ["price", "price", "poor_service", "poor_service"])
>>> evaluate(clf, ["expensive price"], ["price"], ["en"])[["language", "n", "macro_f1"]]
  language  n  macro_f1
0       en  1       1.0
1      all  1       1.0
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnguard.errors import InputError
from churnguard.reasons.classifier import ReasonClassifier
from churnguard.reasons.taxonomy import UNKNOWN

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)
HOLDOUT_SHARE = 0.2
MIN_LABELLED = 20


def model_dir(ws: Workspace) -> Path:
    """Where a workspace keeps its reason model."""
    return ws.root / "models" / "reasons"


def is_holdout(customer_ids: Sequence[object], share: float = HOLDOUT_SHARE) -> np.ndarray:
    """True for customers in the hold-out set: a stable hash of the id, not a random draw.

    >>> is_holdout(["C000001", "C000002", "C000003", "C000004"]).tolist()
    [True, False, False, True]
    """
    h = np.array([zlib.crc32(str(c).encode("utf-8")) % 10_000 for c in customer_ids])
    return h < share * 10_000 if len(h) else np.zeros(0, bool)


def labelled_feedback(ws: Workspace) -> pd.DataFrame:
    """Feedback texts carrying a sub-reason label: customer_id, language, text, sub_reason."""
    fb = ws.warehouse.table("feedback")
    fb = fb.filter(fb.text.notnull(), fb.sub_reason.notnull())
    return fb.select("customer_id", "language", "text", "sub_reason").to_pandas()


def evaluate(clf: ReasonClassifier, texts: Sequence[object], truth: Sequence[str],
             languages: Sequence[object]) -> pd.DataFrame:
    """Macro-F1 per language (and ``all``) of ``clf`` against true sub-reasons.

    ``macro_f1`` scores the best class of every text; ``macro_f1_at_threshold`` counts an
    ``unknown`` as a miss; ``coverage`` is the share not ``unknown``. Macro averages run
    over the true classes present in that language.
    """
    from sklearn.metrics import f1_score

    out = clf.classify(texts)
    proba = clf.predict_proba(texts)
    best = np.asarray(clf.classes_, object)[proba.argmax(axis=1)] if len(out) else []
    frame = pd.DataFrame({"language": pd.Series(languages, dtype=object).fillna("?").to_numpy(),
                          "truth": np.asarray(truth, object), "best": best,
                          "pred": out["sub_reason"].to_numpy()})
    rows: list[dict[str, Any]] = []
    groups = [*frame.groupby("language", sort=True), ("all", frame)]
    for lang, g in groups:
        labels = sorted(set(g["truth"]))
        rows.append({
            "language": lang, "n": len(g),
            "macro_f1": f1_score(g["truth"], g["best"], labels=labels, average="macro",
                                 zero_division=0.0),
            "macro_f1_at_threshold": f1_score(g["truth"], g["pred"], labels=labels,
                                              average="macro", zero_division=0.0),
            "coverage": float((g["pred"] != UNKNOWN).mean()),
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class TrainResult:
    """A trained (and saved) model with its hold-out evaluation."""

    model: ReasonClassifier
    evaluation: pd.DataFrame
    path: Path | None


def train(ws: Workspace, *, save: bool = True, **params: Any) -> TrainResult:
    """Train on labelled feedback: evaluate on held-out customers, then refit on all.

    ``params`` go to :class:`ReasonClassifier`. The saved model records the evaluation in
    its ``metrics``.
    """
    data = labelled_feedback(ws)
    if len(data) < MIN_LABELLED:
        raise InputError(
            f"{ws.root}: only {len(data)} labelled feedback texts (feedback.sub_reason); "
            f"need at least {MIN_LABELLED}. Label more exit surveys or cancellation texts.")
    hold = is_holdout(data["customer_id"].tolist())
    evaluation = pd.DataFrame()
    train_part, test_part = data[~hold], data[hold]
    if train_part["sub_reason"].nunique() >= 2 and len(test_part):
        probe = ReasonClassifier(**params).fit(train_part["text"].tolist(),
                                               train_part["sub_reason"].tolist())
        evaluation = evaluate(probe, test_part["text"].tolist(),
                              test_part["sub_reason"].tolist(), test_part["language"].tolist())
    model = ReasonClassifier(**params).fit(data["text"].tolist(), data["sub_reason"].tolist())
    model.metrics_ = {"holdout": evaluation.to_dict(orient="records"),
                      "n_labelled": len(data), "holdout_share": HOLDOUT_SHARE}
    path = model.save(model_dir(ws)) if save else None
    log.info("trained reason model %s on %d texts", model.model_id_, len(data))
    return TrainResult(model, evaluation, path)


def load_model(ws: Workspace, *, train_if_missing: bool = False) -> ReasonClassifier:
    """The workspace's saved reason model (trained and saved first if asked and missing)."""
    folder = model_dir(ws)
    if train_if_missing and not (folder / "reasons.json").exists():
        return train(ws, save=not ws.read_only).model
    return ReasonClassifier.load(folder)
