"""What an integrator reads in docs/countdown.md and docs/central.md is what the API does (issue #18:
D2, the two verify endpoints, B4)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner

from central.service import CentralService
from central.web.app import api_document
from central.web.nul import NO_NUL
from hallwatch.cli import main
from tests.cases.conftest import entry
from tests.central.conftest import SUPERVISOR_TOKEN, VIEWER_TOKEN, client


@pytest.fixture
def api(engine_central: CentralService) -> Iterator[httpx.Client]:
    with client(engine_central, VIEWER_TOKEN) as http:
        yield http


def test_statistics_count_each_figure_inside_since_and_until(api: httpx.Client) -> None:
    everything = api.get("/api/statistics").json()
    assert len(everything) == 1 and everything[0]["key"] is None and everything[0]["received"] > 0

    # The demo's cases were accepted over the working days before Monday 2026-11-23.
    this_week = api.get("/api/statistics", params={"since": "2026-11-23"}).json()[0]
    before = api.get("/api/statistics", params={"until": "2026-11-23"}).json()[0]
    for figure in ("received", "completed", "yellow_cards", "red_cards", "letters"):
        assert this_week[figure] + before[figure] == everything[0][figure], figure
    assert before["received"] > this_week["received"]


def test_statistics_by_day_month_and_year_add_up_to_the_total(api: httpx.Client) -> None:
    total = api.get("/api/statistics").json()[0]
    for period, shape in (("day", "2026-11-"), ("month", "2026-1"), ("year", "2026")):
        rows = api.get("/api/statistics", params={"by": period}).json()
        assert rows and all(str(row["key"]).startswith(shape) for row in rows), rows
        assert sum(row["received"] for row in rows) == total["received"], period


def test_a_bad_instant_is_refused_with_the_parameter_named(api: httpx.Client) -> None:
    response = api.get("/api/statistics", params={"since": "yesterday"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "since"]


def test_a_nul_character_in_a_filter_or_a_path_is_refused_alike_on_both_databases(api: httpx.Client) -> None:
    # PostgreSQL's text cannot hold one: without the refusal its read failed, a 500 (SQLite's
    # matched nothing).
    for path, params in (("/api/cases", {"matter": "食品\x00许可"}), ("/api/cases", {"hall\x00": "x"}),
                         ("/api/cases/SP%00001", {})):
        response = api.get(path, params=params)
        assert response.status_code == 422, (path, response.text)
        assert "NUL" in response.json()["detail"][0]["msg"]
    assert api.get("/api/cases", params={"matter": "食品许可"}).status_code == 200
    # The document says so, so a client (and the contract test) knows before asking.
    parameters = api_document()["paths"]["/api/cases"]["get"]["parameters"]
    matter = next(p["schema"] for p in parameters if p["name"] == "matter")
    assert any(choice.get("pattern") == NO_NUL for choice in [matter, *matter.get("anyOf", [])])


def test_a_nul_character_in_a_body_is_refused_where_it_is_and_nothing_is_stored(
    engine_central: CentralService,
) -> None:
    # PostgreSQL's text cannot hold one: without the refusal the case's insert failed, a 500
    # (SQLite stored it). A JSON body spells it `\u0000`; a JSON Lines import names the line.
    with client(engine_central, SUPERVISOR_TOKEN) as office:
        refused = office.post("/api/cases", json=entry("NUL-0001", matter="户外广告\x00设置许可"))
        assert refused.status_code == 422, refused.text
        # In the shape this route documents for its refusals (`Problems`: a line each).
        assert refused.json()["detail"] == ["body.matter: a NUL character is not allowed"]
        assert office.get("/api/cases/NUL-0001").status_code == 404
        lines = [entry("NUL-0002"), entry("NUL-0003", officer_name="李\x00四")]
        imported = office.post("/api/cases/import", headers={"content-type": "application/x-ndjson"},
                               content="\n".join(json.dumps(line) for line in lines))
        assert imported.status_code == 422, imported.text
        assert imported.json()["detail"] == ["body.2.officer_name: a NUL character is not allowed"]
        assert office.get("/api/cases/NUL-0002").status_code == 404  # the whole import refused
        # The same text without it, and a literal backslash-u spelled in the text, are taken.
        taken = office.post("/api/cases", json=entry("NUL-0004", matter="户外广告\\u0000设置许可"))
        assert taken.status_code == 201, taken.text
        assert office.get("/api/cases/NUL-0004").json()["matter"] == "户外广告\\u0000设置许可"


def test_the_cli_and_the_api_give_the_same_figures_in_the_same_shape(
    api: httpx.Client, engine_central: CentralService,
) -> None:
    store = engine_central.config.event_store  # the cases are beside the events on PostgreSQL
    db = str(engine_central.config.cases_path) if store.is_sqlite else store.secret_url()
    result = CliRunner().invoke(main, ["central", "stats", "--db", db, "--by", "unit", "--since",
                                       "2026-11-01", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output[result.output.index("["):])
    served = api.get("/api/statistics", params={"by": "unit", "since": "2026-11-01"}).json()
    assert printed == served


def test_both_hash_chain_checks_answer_in_one_shape(engine_central: CentralService) -> None:
    with client(engine_central, SUPERVISOR_TOKEN) as office:
        assert office.post("/api/complaints", json={
            "hall": "hall-01", "summary": "叫号后窗口无人"}).status_code == 201
        cases = office.get("/api/log/verify").json()
        complaints = office.get("/api/complaints/verify").json()
    assert set(cases) == set(complaints) == {"ok", "checked", "head", "first_bad", "problem"}
    assert set(cases["head"]) == set(complaints["head"]) == {"seq", "hash"}
    assert complaints["ok"] is True and complaints["checked"] >= 1


def test_a_complaint_about_a_hall_central_does_not_know_is_refused(
    engine_central: CentralService,
) -> None:
    with client(engine_central, SUPERVISOR_TOKEN) as office:
        response = office.post("/api/complaints", json={"hall": "hall-99", "summary": "窗口无人"})
        assert response.status_code == 422
        assert response.json()["detail"] == (
            "central does not know hall 'hall-99'; its halls are hall-01")
        assert office.get("/api/complaints").json() == []
