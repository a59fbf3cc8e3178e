"""churnguard: measure, value, predict and act on customer churn."""

from churnguard.errors import (
    ChurnguardError,
    ConfigError,
    ConvergenceError,
    InputError,
    NotFittedError,
    WorkspaceError,
)

__version__ = "0.1.0"

__all__ = [
    "ChurnguardError",
    "ConfigError",
    "ConvergenceError",
    "InputError",
    "NotFittedError",
    "WorkspaceError",
    "__version__",
]
