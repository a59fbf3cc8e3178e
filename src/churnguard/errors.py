"""One exception hierarchy for churnguard.

Every error a user can cause is a :class:`ChurnguardError`. Messages name the file, row,
column, value and the rule, and say how to fix it. The CLI turns these into one red line
and a non-zero exit code; anything else is a bug.

>>> err = InputError("orders.csv row 3, column amount: 'abc' is not a number")
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations


class ChurnguardError(Exception):
    """Base class of every error churnguard raises on purpose."""

    #: exit code the CLI uses for this kind of error
    exit_code: int = 2


class InputError(ChurnguardError, ValueError):
    """The user's input (a file, an argument, a config value) cannot be used as given."""


class ConfigError(InputError):
    """The workspace configuration (churnguard.toml) is missing or invalid."""


class WorkspaceError(ChurnguardError):
    """The workspace folder or its warehouse is missing, locked or damaged."""


class RejectedRowsError(ChurnguardError):
    """Some rows of a batch broke the data contract, so the batch was not applied."""

    exit_code = 1


class NotFittedError(ChurnguardError, ValueError, AttributeError):
    """A model method that needs fitted parameters was called before ``fit``."""


class ConvergenceError(ChurnguardError, ArithmeticError):
    """An optimiser did not reach a valid optimum; the message says what to try."""
