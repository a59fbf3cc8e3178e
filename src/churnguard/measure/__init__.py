"""Measure churn: definitions, labels, rates (customers and revenue), cohorts, survival,
churned-vs-active comparison and pre-churn history.

The functions taking a workspace return frames: :func:`rates`, :func:`cohorts`,
:func:`survival` (a :class:`SurvivalResult` of frames), :func:`compare`, :func:`history`.
"""

from churnguard.measure.cohorts import cohort_matrix, cohorts
from churnguard.measure.compare import compare
from churnguard.measure.definitions import ChurnRules, SegmentOverride
from churnguard.measure.history import history
from churnguard.measure.labels import label_episodes, labels
from churnguard.measure.rates import churn_rates, rates
from churnguard.measure.survival import SurvivalResult, survival

__all__ = [
    "ChurnRules", "SegmentOverride", "SurvivalResult", "churn_rates", "cohort_matrix",
    "cohorts", "compare", "history", "label_episodes", "labels", "rates", "survival",
]
