"""The texts: embedded Chinese templates with a signature, and an operator's file checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.sms.planning import Recipient, plan
from central.sms.templates import ALLOWED_NAMES, TemplateBook
from spine.config import ConfigError
from tests.sms.conftest import accepted_body


def test_a_citizen_message_starts_with_the_signature_and_ends_with_how_to_opt_out() -> None:
    book = TemplateBook.load()
    [notice] = plan("case.accepted", accepted_body(), due_day="2026-12-21")
    text = book.render(notice.template, notice.values, notice.recipient)
    assert text == ("【酒泉市政务服务中心】您申请的“食品经营许可”已于2026年11月23日受理，"
                    "受理编号JQ-2026-1123-0001，办理时限20个工作日，预计2026年12月21日前办结。"
                    "回复TD退订")


def test_an_officer_reminder_carries_no_opt_out_hint() -> None:
    book = TemplateBook.load()
    text = book.render("case.reminder.yellow_light", {"case_id": "JQ-1", "officer_name": "李四", "unit": "u",
                                                      "due_day": "2026年12月21日"}, Recipient.OFFICER)
    assert text.startswith("【酒泉市政务服务中心】李四同志") and "退订" not in text


def test_every_template_the_planner_uses_renders_with_the_values_it_gets() -> None:
    book = TemplateBook.load()
    for key, names in ALLOWED_NAMES.items():
        text = book.render(key, {name: "值" for name in names}, Recipient.CITIZEN)
        assert "{" not in text and text.startswith("【")


def test_an_operator_file_overrides_some_texts_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "sms-templates.toml"
    path.write_text('signature = "【肃州区政务服务中心】"\n[templates]\n'
                    '"case.resumed" = "办件{case_id}于{day}恢复办理。"\n', encoding="utf-8")
    book = TemplateBook.load(path)
    assert book.render("case.resumed", {"case_id": "X1", "day": "1日"}, Recipient.CITIZEN) == \
        "【肃州区政务服务中心】办件X1于1日恢复办理。回复TD退订"
    assert book.texts["case.completed"] == TemplateBook.load().texts["case.completed"]


def test_a_signature_from_central_settings_wins_over_the_file() -> None:
    book = TemplateBook.load(signature="【酒泉市行政审批局】")
    text = book.render("complaint.answered", {"complaint": "T1"}, Recipient.UNIT)
    assert text.startswith("【酒泉市行政审批局】")


def test_a_wrong_template_file_is_refused_with_every_problem_listed(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('signatur = "x"\n[templates]\n"case.acepted" = "x"\n'
                    '"case.resumed" = "{case_id} {phone}"\n"case.completed" = "办结{"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        TemplateBook.load(path)
    message = str(error.value)
    assert "4 problem(s)" in message
    assert "signatur: unknown key" in message
    assert "templates.case.acepted: unknown template" in message
    assert "templates.case.resumed: unknown name {phone}" in message
    assert "templates.case.completed: broken braces" in message


def test_an_ascii_tilde_never_reaches_gammu(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[templates]\n"booking.confirmed" = "请于{time}~10:00到{hall_name}"\n', encoding="utf-8")
    text = TemplateBook.load(path).render("booking.confirmed", {"time": "09:30", "hall_name": "大厅"},
                                          Recipient.CITIZEN)
    assert "~" not in text and "09:30～10:00" in text
