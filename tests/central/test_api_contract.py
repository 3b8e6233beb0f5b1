"""The API keeps the contract its OpenAPI document states, for generated requests (schemathesis)."""

from __future__ import annotations

from typing import Any

import pytest

from central.service import CentralService
from central.web.app import api_document
from tests.central.conftest import SUPERVISOR_TOKEN

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")
from hypothesis import HealthCheck, settings  # noqa: E402

AUTH = {"Authorization": f"Bearer {SUPERVISOR_TOKEN}"}


def contract_config() -> Any:
    """Requests that keep the document's rules (what a conforming client sends). Refusals of
    malformed requests are the framework's and are tested by hand (roles, validation)."""
    config = schemathesis.config.SchemathesisConfig()
    config.projects.default.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE], allow_extra_parameters=False)
    return config


# The document is the one central serves; it does not depend on any running state.
# The event stream never ends by itself: its contract is the browser test's.
contract = schemathesis.openapi.from_dict(api_document(), config=contract_config()).exclude(
    path="/api/stream")


@contract.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any, central: CentralService) -> None:
    case.call_and_validate(base_url=central.base_url, headers=AUTH)


def test_the_document_names_every_part_of_the_api(central: CentralService) -> None:
    served = central.app.openapi()
    assert served == api_document(), "the contract tested is the one served"
    for path in ("/api/cases", "/api/cases/{case_id}/history", "/api/statistics", "/api/halls",
                 "/api/complaints", "/api/complaints/{complaint}/answer", "/api/performance",
                 "/api/screen", "/api/stream"):
        assert path in served["paths"], path
    schemes = served["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
