"""Shared fixtures of the API and web tests: one simulated workspace per session, the app
on SQLite and (when ``CHURNGUARD_TEST_PG_URL`` is set) on a real PostgreSQL, and users."""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

PG_ENV = "CHURNGUARD_TEST_PG_URL"
OWNER = "Bob Li"  # an owner the simulator gives customers to
PASSWORD = "correct-horse-battery"


@dataclass
class Users:
    admin: str
    analyst: str
    owner: str  # owner "Bob Li"
    other_owner: str  # another owner
    other_owner_name: str


@pytest.fixture(scope="session")
def sim_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from churnguard.simulate.load import simulate_into

    root = tmp_path_factory.mktemp("app") / "shop"
    simulate_into(root, customers=2000, months=24, seed=5)
    return root


def _pg_database(base_url: str) -> str:
    """A fresh database on the test server, so each session starts empty."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"cg_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def app_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('appdb') / 'app.db'}"
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: run `eval \"$(bash scripts/setup-postgres.sh)\"` "
                    "to test the app database on PostgreSQL")
    return _pg_database(base)


@pytest.fixture(scope="session")
def app_workspace(sim_workspace: Path, tmp_path_factory: pytest.TempPathFactory,
                  app_db_url: str) -> Path:
    """A copy of the simulated workspace per app database (events tests write to it)."""
    dest = tmp_path_factory.mktemp("ws") / "shop"
    shutil.copytree(sim_workspace, dest)
    return dest


@pytest.fixture(scope="session")
def app(app_workspace: Path, app_db_url: str) -> Iterator[FastAPI]:
    from churnguard.api import create_app

    application = create_app(app_workspace, database_url=app_db_url)
    yield application
    application.state.cg.close()


@pytest.fixture(scope="session")
def users(app: FastAPI, sim_workspace: Path) -> Users:
    import duckdb

    from churnguard.api.accounts import add_user

    con = duckdb.connect(str(sim_workspace / "warehouse.duckdb"), read_only=True)
    other = con.execute("SELECT owner FROM customers WHERE owner <> ? GROUP BY owner "
                        "ORDER BY count(*) DESC LIMIT 1", [OWNER]).fetchone()[0]
    con.close()
    with app.state.cg.db.session() as s:
        add_user(s, "root", PASSWORD, role="admin")
        add_user(s, "alice", PASSWORD, role="analyst")
        add_user(s, "bob", PASSWORD, role="owner", owner_name=OWNER)
        add_user(s, "carol", PASSWORD, role="owner", owner_name=other)
    return Users("root", "alice", "bob", "carol", other)


@pytest.fixture(scope="session")
def keys(app: FastAPI, users: Users) -> dict[str, str]:
    from churnguard.api.accounts import create_api_key

    out = {}
    with app.state.cg.db.session() as s:
        for name in ("root", "alice", "bob", "carol"):
            out[name] = create_api_key(s, name)[1]
    return out


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = TestClient(app)
    yield c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
