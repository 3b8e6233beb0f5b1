"""The supervision office runs as central's role with the grants docs/operations.md gives it
(revision 0010's tables), and its two logs refuse every change: for that role by the grants,
for the owner by their triggers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import exc as sql_errors
from sqlalchemy import text

from central.anomalies.place import SupervisionPlace
from central.personal.retention import PrivacySettings, Retention
from central.projects import GreenChannel, NewProject, ProjectDesk
from central.projects.light import MemberCase
from spine.storeurl import StoreUrl
from tests.anomalies.test_watches_on_postgresql import T0, WINDOWS, ArrivingFacts, Office, ratings
from tests.central.test_grants_on_postgresql import Roles, documented_grants, roles  # noqa: F401
from tests.pg import pg_cluster  # noqa: F401

LOGS = ("anomaly_log", "project_log")


def test_the_docs_grant_central_append_and_read_on_the_supervision_logs_and_nothing_more() -> None:
    for table in LOGS:
        on_it = [g for g in documented_grants() if re.search(rf"\bON\b[^;]*\b{table}\b", g)]
        assert on_it and all(g.startswith("GRANT SELECT, INSERT ON ") for g in on_it), (table, on_it)


def test_as_central_s_role_the_office_judges_moves_plans_and_erases_and_cannot_change_its_logs(
        roles: Roles) -> None:  # noqa: F811
    url = StoreUrl.parse(roles.central.url.render_as_string(hide_password=False))
    feed = ArrivingFacts()
    feed.facts += ratings()
    office = Office(url, feed)
    try:
        raised = office.tick()
        assert len(raised) == WINDOWS
        first = raised[0].id
        with office.store.transaction() as tx:
            office.book.acknowledge(tx, first, "office-wang", T0)
            office.book.assign(tx, first, "张科长", "office-wang", T0 + 1, "电话 13812345678 核实")
            office.book.close(tx, first, "confirmed", None, "属实", "office-wang", T0 + 2)
        member = MemberCase("JQ-1", "hall-01", "自然资源局", "不动产登记", "李四", "blue", None, T0 // 1000,
                            None, None)
        desk = ProjectDesk(office.store, lambda ids: [member] if ids else [], calendar=office.watch.calendar,
                           ladder=office.watch.ladder, clock=lambda: T0)
        desk.create(NewProject("P-001", "新厂房", "王主任", 20), "office-wang")
        desk.add_case("P-001", "JQ-1", "office-wang")
        GreenChannel(office.store, lambda _hall, _day: None, clock=lambda: T0).issue(
            "P-001", hall="hall-01", service="A", day="2026-11-24", window=None, actor="office-wang")
        place = SupervisionPlace(office.store)
        settings = PrivacySettings()
        due = place.due(Retention(settings, T0 + 10 + settings.erase_after_days * 86_400_000))
        assert list(due) == [f"anomaly:{first}"]
        assert place.erase(due, actor="retention", reason="kept long enough", now_ms=T0 + 20) == list(due)
        assert office.book.verify()["ok"] and desk.verify()["ok"]
    finally:
        office.store.close()

    for table in LOGS:
        for change in (f"UPDATE {table} SET at = at", f"DELETE FROM {table}", f"TRUNCATE {table}"):
            with pytest.raises(sql_errors.ProgrammingError, match="permission denied"), \
                    roles.central.begin() as sql:
                sql.execute(text(change))
            with pytest.raises(sql_errors.DatabaseError, match="is append-only"), roles.owner.begin() as sql:
                sql.execute(text(change))
