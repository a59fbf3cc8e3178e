"""``GET /health``: the only route without authentication."""

from __future__ import annotations

from fastapi import APIRouter

from churnguard import __version__
from churnguard.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> Health:
    """The server is up."""
    return Health(status="ok", version=__version__)
