"""The REST API (FastAPI): ``create_app(workspace_path)``; routers per resource in ``routers/``."""

from churnguard.api.main import create_app

__all__ = ["create_app"]
