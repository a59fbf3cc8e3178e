"""Why customers leave: the reason taxonomy applied to structured choices and free text.

- :mod:`~churnguard.reasons.taxonomy`: free spellings of a reason -> taxonomy codes;
- :mod:`~churnguard.reasons.text`: normalisation and character n-grams (zh, en, fa);
- :mod:`~churnguard.reasons.classifier`: the text classifier, saved as data;
- :mod:`~churnguard.reasons.training`: train / evaluate / load from a workspace;
- :mod:`~churnguard.reasons.analysis`: reasons per churner, shares by month and segment.
"""

from churnguard.reasons.analysis import (
    CHURN_SOURCES,
    churn_reasons,
    examples,
    reason_mentions,
    reason_shares,
    taxonomy_breakdown,
    with_segment,
)
from churnguard.reasons.classifier import ReasonClassifier
from churnguard.reasons.taxonomy import UNKNOWN, main_of, to_main_reason, to_sub_reason
from churnguard.reasons.training import TrainResult, evaluate, load_model, model_dir, train

__all__ = [
    "CHURN_SOURCES", "UNKNOWN", "ReasonClassifier", "TrainResult", "churn_reasons", "evaluate",
    "examples", "load_model", "main_of", "model_dir", "reason_mentions", "reason_shares",
    "taxonomy_breakdown", "to_main_reason", "to_sub_reason", "train", "with_segment",
]
