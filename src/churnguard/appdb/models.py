"""Imports every module that defines app-state models, so Alembic sees them all.

Each feature keeps its models beside its code (``appdb/auth_models.py`` for users and
keys, ``act/models.py`` for alerts and cases, ...) and is listed here.
"""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "churnguard.appdb.auth_models",
    "churnguard.act.models",
)

for _name in MODEL_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a feature whose models have not been written
        if exc.name != _name:
            raise
