from .fixtures_app import (  # noqa: F401
    app,
    app_db_url,
    app_workspace,
    client,
    keys,
    sim_workspace,
    users,
)
