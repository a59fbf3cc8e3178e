import pytest

from api.fixtures_app import (  # noqa: F401
    app,
    app_workspace,
    client,
    keys,
    sim_workspace,
    users,
)


@pytest.fixture(scope="session")
def app_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The page tests run on SQLite only (the API tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path_factory.mktemp('webdb') / 'app.db'}"
