"""Where the public datasets live: ``$CHURNGUARD_DATA_DIR`` or a ``shared/data`` folder
beside the project (``../shared/data`` from the repository root)."""

from __future__ import annotations

import os
from pathlib import Path

from churnguard.errors import InputError

ENV = "CHURNGUARD_DATA_DIR"


def shared_data_dir(explicit: str | Path | None = None) -> Path:
    """The dataset folder; an :class:`InputError` saying where it looked when absent."""
    if explicit is not None:
        candidates = [Path(explicit)]
    else:
        candidates = [Path(os.environ[ENV])] if os.environ.get(ENV) else []
        for start in (Path.cwd(), Path(__file__).resolve()):
            for parent in (start, *start.parents):
                candidates.append(parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c
    looked = ", ".join(str(c) for c in candidates[:4])
    raise InputError(
        f"no dataset folder found (looked in {looked} ...). Pass --data-dir, or set {ENV}."
    )
