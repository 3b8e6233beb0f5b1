"""The retention rule: personal data of closed records is erased after its time, by the running central
and by `hall central privacy erase-due`; open records keep theirs; each erasure is logged."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from click.testing import CliRunner

from central.personal import vault
from central.personal.retention import PrivacySettings, Retention
from central.queue_stats import contact_for
from central.service import CentralService
from central.sms.platform import SmsPlatform
from contract.privacy import ERASED
from hallwatch.cli import main
from spine.clock import SimulatedClock
from tests.central.conftest import MONDAY_MORNING
from tests.privacy.conftest import CITIZEN, HALL, NEIGHBOUR, case_entry, hall_events

DAY_MS = 86_400_000
RATING = "rating-0000-bad-0002"


def test_the_rule_cuts_off_closed_records_and_old_visits() -> None:
    rule = Retention(PrivacySettings(erase_after_days=180, erase_visit_phones_after_days=30),
                     MONDAY_MORNING)
    assert rule.closed_before_ms == MONDAY_MORNING - 180 * DAY_MS
    assert rule.visits_before_day == "2026-10-24"  # 30 days before Monday 2026-11-23, hall time
    assert rule.visit_due("visit:hall-01/2026-10-23/A001")
    assert not rule.visit_due("visit:hall-01/2026-10-24/A001")
    assert "180 days" in rule.reason("case") and "30 days" in rule.reason("visit")


def _closed_records(central: CentralService, supervisor: httpx.Client, sms: SmsPlatform) -> str:
    """A case confirmed, a complaint answered, a follow-up closed, a visit's phone: all today."""
    supervisor.post("/api/cases", json=case_entry("PD-0100", "张三丰", CITIZEN))
    supervisor.post("/api/cases", json=case_entry("PD-0101", "李大山", NEIGHBOUR))  # stays open
    for step, at in (("completion", "2026-11-23T10:03"), ("confirmation", "2026-11-23T10:04")):
        done = supervisor.post(f"/api/cases/PD-0100/{step}",
                               json={"case_id": "PD-0100", "by": "window-3", "at": at})
        assert done.status_code == 200, done.text
    complaint = supervisor.post("/api/complaints", json={
        "hall": HALL, "summary": "请回电 138 1111 0002", "phone": CITIZEN}).json()["id"]
    supervisor.post(f"/api/complaints/{complaint}/answer", json={"answer": "已答复"})
    hall_events(
        central,
        ("queue.contact_given", {"day": "2026-11-23", "ticket": "A012", "window": "w03", "phone": CITIZEN}),
        ("rating.recorded", {
            "hall": HALL, "window": "3", "officer": "x001", "officer_name": None, "department": "市场监管局",
            "service": "A", "visit": None, "how": "session", "rating": RATING, "terminal": "rating-w3",
            "grade": "dissatisfied", "rated_at": central.clock.wall_ms(), "source_event": "e" * 32}),
    )
    for step, note in (("rectify", "已整改"), ("callback", "回访 138 1111 0002"), ("close", "结案")):
        assert supervisor.post(f"/api/ratings/followups/{HALL}/{RATING}/{step}",
                               json={"note": note}).status_code == 200
    sms.notify("fact-1", "case.accepted", case_entry("PD-0100", "张三丰", CITIZEN))
    sms.run_once()
    return str(complaint)


def test_the_running_central_erases_what_the_rule_says_and_logs_it(
    central: CentralService, clock: SimulatedClock, supervisor: httpx.Client, sms: SmsPlatform,
) -> None:
    complaint = _closed_records(central, supervisor, sms)

    clock.advance(31 * DAY_MS)  # the visit's phone is due; nothing else yet
    central.tick()
    assert contact_for(central.store.query, HALL, "2026-11-23", "A012") is None
    assert supervisor.get("/api/cases/PD-0100/contact").json()["contact_phone"] == CITIZEN
    assert supervisor.get(f"/api/complaints/{complaint}/contact").json()["phone"] == CITIZEN

    clock.advance(150 * DAY_MS)  # 181 days after closing
    central.tick()
    assert supervisor.get("/api/cases/PD-0100/contact").json() == {
        "contact_name": ERASED, "contact_phone": ERASED}
    assert supervisor.get(f"/api/complaints/{complaint}/contact").json()["phone"] == ERASED
    assert central.ratings.history(HALL, RATING)[2]["note"] == f"回访 {ERASED}"
    assert [m.phone for m in sms.messages()] == [ERASED]
    # The open case keeps its contact: its SMS notices still need it.
    assert supervisor.get("/api/cases/PD-0101/contact").json()["contact_phone"] == NEIGHBOUR

    logged = vault.erasures(central.store.query)
    assert {(e["subject"], e["actor"]) for e in logged} == {
        (f"visit:{HALL}/2026-11-23/A012", "retention"), (f"complaint:{complaint}", "retention"),
        (f"followup:{HALL}/{RATING}", "retention")}
    assert all(e["reason"].startswith("retention: ") for e in logged)
    assert central.engine_cases is not None
    with central.engine_cases.alone() as store:
        assert [e["subject"] for e in vault.erasures(store.personal.read)] == ["case:PD-0100"]
        assert store.verify().ok
    assert supervisor.get("/api/complaints/verify").json()["ok"] is True
    assert central.ratings.verify_log() is None


def _config_file(central: CentralService, tmp_path: Path) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(f'data_dir = "{central.config.data_dir}"\n[privacy]\nerase_after_days = 1\n')
    return path


def test_an_operator_erases_a_citizen_by_phone_and_applies_the_rule_from_the_command_line(
    central: CentralService, supervisor: httpx.Client, sms: SmsPlatform, tmp_path: Path,
) -> None:
    complaint = _closed_records(central, supervisor, sms)
    config = _config_file(central, tmp_path)
    runner = CliRunner()

    erased = runner.invoke(main, ["central", "privacy", "erase", "--config", str(config), "--phone",
                                  "138-1111-0002", "--by", "office", "--sms-store", str(sms.outbox.path)])
    assert erased.exit_code == 0, erased.output
    report = json.loads(erased.stdout)
    assert f"complaint:{complaint}" in report["subjects"] and "case:PD-0100" in report["subjects"]
    assert report["sms"]["messages"] == 1
    assert supervisor.get("/api/cases/PD-0100/contact").json()["contact_phone"] == ERASED

    again = runner.invoke(main, ["central", "privacy", "erase", "--config", str(config), "--phone",
                                 CITIZEN, "--by", "office"])
    assert again.exit_code == 1  # nothing held it any more

    due = runner.invoke(main, ["central", "privacy", "erase-due", "--config", str(config)])
    assert due.exit_code == 0 and json.loads(due.stdout)["subjects"] == []  # closed today: not yet

    listed = runner.invoke(main, ["central", "privacy", "erasures", "--config", str(config)])
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {row["place"] for row in rows} == {"events", "cases"}
    assert {row["reason"] for row in rows} == {"a citizen's request"}


def test_one_case_is_erased_by_its_number(central: CentralService, supervisor: httpx.Client,
                                           tmp_path: Path) -> None:
    supervisor.post("/api/cases", json=case_entry("PD-0200", "张三丰", CITIZEN))
    supervisor.post("/api/cases", json=case_entry("PD-0201", "张三丰", CITIZEN))
    result = CliRunner().invoke(main, ["central", "privacy", "erase", "--config",
                                       str(_config_file(central, tmp_path)), "--case", "PD-0200",
                                       "--by", "office"])
    assert result.exit_code == 0, result.output
    assert supervisor.get("/api/cases/PD-0200/contact").json()["contact_phone"] == ERASED
    assert supervisor.get("/api/cases/PD-0201/contact").json()["contact_phone"] == CITIZEN
