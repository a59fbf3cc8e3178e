"""Named warning categories of the customer-value models (filter them by class)."""

from __future__ import annotations


class StatisticalWarning(UserWarning):
    """The data break an assumption of the model; results may be misleading."""


class ConvergenceWarning(UserWarning):
    """The optimiser converged, but the standard errors could not be computed reliably."""
