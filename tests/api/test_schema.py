"""Property-based API tests from the OpenAPI schema (schemathesis): no server errors and
every response as documented, for an analyst and an owner."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402


def test_api_follows_its_schema(app: FastAPI, keys: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(method="GET")
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def check(case) -> None:  # type: ignore[no-untyped-def]
            for who in ("alice", "bob"):
                response = case.call(headers={"Authorization": f"Bearer {keys[who]}"})
                assert response.status_code < 500, (case.path, response.text)
                case.validate_response(response)

        check()
        checked += 1
    assert checked >= 6
