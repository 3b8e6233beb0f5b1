"""The SMS platform as central's role runs it on PostgreSQL, granted only what docs/operations.md
grants `hall_central` ("Roles and grants", revision 0009): it queues, sends, reads reports and
replies, takes opt-outs and erases, and can never change the attempts' log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import exc as sql_errors
from sqlalchemy import text

from central.sms.platform import SmsPlatform
from central.sms.senders.simulated import SimulatedSender
from spine.clock import SimulatedClock
from spine.storeurl import StoreUrl
from tests.central.test_grants_on_postgresql import Roles, roles  # noqa: F401 - the fixture
from tests.pg import pg_cluster  # noqa: F401
from tests.sms.conftest import CITIZEN, accepted_body, hall_time, make_settings


def test_central_s_role_runs_the_sms_platform_and_cannot_change_its_attempts(
        roles: Roles, tmp_path: Path) -> None:  # noqa: F811
    url = StoreUrl.parse(roles.central.url.render_as_string(hide_password=False))
    clock, sender = SimulatedClock(hall_time("2026-11-23 10:00")), SimulatedSender()
    platform = SmsPlatform(make_settings(tmp_path), clock=clock, sender=sender, store=url,
                           process="central-a")
    try:
        platform.start()  # recover() at start
        platform.stop()
        platform = SmsPlatform(make_settings(tmp_path), clock=clock, sender=sender, store=url,
                               process="central-a")
        platform.notify("evt-1", "case.accepted", accepted_body())
        platform.run_once(poll=False)
        for unit in sender.sent:  # every part of it
            sender.report(unit.reference)
        sender.reply(CITIZEN, "退订")
        platform.run_once(poll=True)
        assert [m.state for m in platform.messages()] == ["delivered"]
        assert platform.outbox.opted_out(CITIZEN)
        assert platform.erase(CITIZEN) == {"messages": 1, "unsent": 0, "incoming": 1}  # VACUUM skipped
        assert platform.erase_before(clock.wall_ms() + 1) == {"messages": 0, "incoming": 0}
    finally:
        platform.stop()

    for change in ("UPDATE sms_attempts SET at = at", "DELETE FROM sms_attempts", "DELETE FROM sms_opt_outs"):
        with pytest.raises(sql_errors.ProgrammingError, match="permission denied"), \
                roles.central.begin() as sql:
            sql.execute(text(change))
