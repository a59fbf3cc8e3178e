"""Measure churn: definitions, labels (customer episodes) and churn / retention rates."""

from churnguard.measure.definitions import ChurnRules, SegmentOverride
from churnguard.measure.labels import label_episodes, labels

__all__ = ["ChurnRules", "SegmentOverride", "label_episodes", "labels"]
