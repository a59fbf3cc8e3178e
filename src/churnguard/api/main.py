"""The app factory: ``create_app(workspace_path)`` builds one app with its own state.

API under ``/api`` (OpenAPI docs at ``/docs``), the dashboard at ``/``, ``GET /health``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from churnguard import __version__
from churnguard.api import errors
from churnguard.api.routers import (
    alerts_cases,
    at_risk,
    customers,
    events,
    health,
    metrics,
    scores,
    users,
)
from churnguard.api.state import AppSettings, AppState

#: environment variable carrying ``create_app``'s arguments to server worker processes
ENV_SETTINGS = "CHURNGUARD_SERVE_SETTINGS"


def app_from_env() -> FastAPI:
    """The app of one worker of ``churnguard serve --workers N`` (uvicorn factory)."""
    import json
    import os

    settings = json.loads(os.environ[ENV_SETTINGS])
    root = settings.pop("workspace")
    return create_app(root, **{k: v for k, v in settings.items() if v is not None})


def create_app(workspace_path: str | Path, *, web: bool = True, **settings: Any) -> FastAPI:
    """A new app on ``workspace_path``; ``settings`` are :class:`AppSettings` fields."""
    cfg = AppSettings(workspace=Path(workspace_path), **settings)
    state = AppState.build(cfg)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if cfg.warm_up:
            await run_in_threadpool(state.warm)
        yield
        state.close()

    app = FastAPI(title="churnguard", version=__version__, lifespan=lifespan,
                  description="Churn measured, valued, predicted and acted on.")
    app.state.cg = state
    errors.install(app)
    for module in (health, customers, metrics, at_risk, scores, events, users,
                   alerts_cases):
        app.include_router(module.router)
    from churnguard.api.routers import decide

    app.include_router(decide.router)
    if web:
        from churnguard.web.routes import install as install_web

        install_web(app)
    return app
