"""Suite-wide settings."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # ibis 12 on pandas 3 warns about its own internals; nothing churnguard can act on.
    # (Added here, not in pyproject, because the class only exists from pandas 3 on.)
    import pandas.errors

    if hasattr(pandas.errors, "Pandas4Warning"):
        config.addinivalue_line("filterwarnings", "ignore::pandas.errors.Pandas4Warning")
