"""Point-in-time features of the churn model: one row per customer as of a date.

Only rows timestamped strictly before ``as_of`` are used. Every feature is named and
documented in a registry (:data:`FEATURES`, :func:`feature_registry`) with its unit, kind
(numeric / categorical) and reason group, which the explanation layer turns into plain
words. The features are Ibis expressions, so they run on DuckDB and on any Ibis engine.

>>> FEATURES["complaints_30d"].group
'complaints'
"""

from churnguard.predict.features.build import (
    FEATURES,
    build_features,
    compute_features,
    feature_names,
    feature_registry,
)
from churnguard.predict.features.registry import (
    KEY_COLUMNS,
    REASON_GROUPS,
    Feature,
    attribute_features,
)

__all__ = [
    "FEATURES",
    "KEY_COLUMNS",
    "REASON_GROUPS",
    "Feature",
    "attribute_features",
    "build_features",
    "compute_features",
    "feature_names",
    "feature_registry",
]
