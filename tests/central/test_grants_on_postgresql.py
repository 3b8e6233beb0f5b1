"""The roles and grants docs/operations.md gives operators, run as written on a throwaway PostgreSQL:
the owner migrates, the running central's role appends to every log and can never change one.

The grants are read from the documentation itself (every GRANT and REVOKE of the "Central
on PostgreSQL" section), so the test fails when the two disagree."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy import exc as sql_errors

from central import migrations
from central.booking.log import LOG as BOOKING_LOG
from central.complaints.log import LOG as COMPLAINT_LOG
from central.ledger import Ledger
from central.ratings.tables import FOLLOWUP_LOG
from central.store import CentralStore
from spine.clock import SimulatedClock
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.central.test_event_store import batch_of, envelope
from tests.pg import PgCluster, pg_cluster  # noqa: F401

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
T0 = 1_780_000_000_000
LEDGERS: tuple[Ledger, ...] = (COMPLAINT_LOG, BOOKING_LOG, FOLLOWUP_LOG)
APPEND_ONLY = ("events", "personal_erasures", *(ledger.name for ledger in LEDGERS))
"""Every table revisions 0001-0004 make append-only on PostgreSQL (trigger and grants)."""


def documented_grants() -> list[str]:
    """Every GRANT and REVOKE in the ```sql blocks of "Central on PostgreSQL", in order."""
    section = DOCS.read_text().split("## Central on PostgreSQL", 1)[1].split("\n## ", 1)[0]
    statements: list[str] = []
    for block in re.findall(r"```sql\n(.*?)```", section, re.S):
        sql = "\n".join(line.split("--", 1)[0] for line in block.splitlines() if not line.startswith("\\"))
        statements += [" ".join(s.split()) for s in sql.split(";")
                       if s.split()[:1] in (["GRANT"], ["REVOKE"])]
    return statements


@dataclass
class Roles:
    owner: Engine
    central: Engine


@pytest.fixture
def roles(pg_cluster: PgCluster) -> Iterator[Roles]:  # noqa: F811
    """The two roles of docs/operations.md ("Roles and grants"): the owner, who creates the database
    and migrates it, and central's own, granted what the docs grant `hall_central`."""
    tag = uuid.uuid4().hex[:8]
    owner, central, database = f"hall_owner_{tag}", f"hall_central_{tag}", f"hallwatch_{tag}"
    pg_cluster.admin(f"CREATE ROLE {owner} LOGIN")
    pg_cluster.admin(f"CREATE ROLE {central} LOGIN")
    pg_cluster.admin(f"CREATE DATABASE {database} OWNER {owner} ENCODING 'UTF8'")
    as_owner = open_engine(pg_cluster.url(database, user=owner))
    with as_owner.connect() as connection:
        migrations.upgrade(connection)
    with as_owner.begin() as sql:
        for grant in documented_grants():
            sql.execute(text(grant.replace("hall_central", central).replace("hall_owner", owner)))
    as_central = open_engine(pg_cluster.url(database, user=central))
    yield Roles(as_owner, as_central)
    as_central.dispose()
    as_owner.dispose()


def test_the_docs_grant_central_append_and_read_on_every_append_only_log_and_nothing_more() -> None:
    grants = documented_grants()
    assert grants, "no GRANT found in docs/operations.md"
    for table in APPEND_ONLY:
        on_it = [g for g in grants if re.search(rf"\bON\b[^;]*\b{table}\b", g) and "hall_central" in g]
        assert on_it, f"the docs grant nothing on {table}"
        for grant in on_it:
            assert grant.startswith("GRANT SELECT, INSERT ON "), f"{table}: {grant}"


def test_as_central_s_role_every_log_takes_appends_and_refuses_update_delete_and_truncate(
        pg_cluster: PgCluster, roles: Roles) -> None:  # noqa: F811
    _append_to_every_log(roles.central, pg_cluster)

    for table in APPEND_ONLY:
        for change in (f"UPDATE {table} SET at = at" if table != "events" else "UPDATE events SET seq = seq",
                       f"DELETE FROM {table}", f"TRUNCATE {table}"):
            with pytest.raises(sql_errors.ProgrammingError, match="permission denied"), \
                    roles.central.begin() as sql:
                sql.execute(text(change))
    with roles.central.connect() as read:
        for ledger in LEDGERS:
            report = ledger.verify(read)
            assert report.ok and report.checked == 2, (ledger.name, report)


def test_even_the_owner_cannot_change_a_log_its_trigger_refuses(pg_cluster: PgCluster, roles: Roles) -> None:  # noqa: F811
    _append_to_every_log(roles.central, pg_cluster)

    for table in APPEND_ONLY:
        for change in (f"UPDATE {table} SET at = at" if table != "events" else "UPDATE events SET seq = seq",
                       f"DELETE FROM {table}", f"TRUNCATE {table}"):
            with pytest.raises(sql_errors.DatabaseError, match="is append-only"), roles.owner.begin() as sql:
                sql.execute(text(change))


def test_central_s_role_cannot_lock_a_log_the_way_an_updater_could_so_appends_take_an_advisory_lock(
        roles: Roles) -> None:
    """Why `central.ledger` serialises appends with an advisory lock: PostgreSQL lets only a role
    with UPDATE, DELETE or TRUNCATE on a table take SHARE ROW EXCLUSIVE on it."""
    with pytest.raises(sql_errors.ProgrammingError, match="permission denied"), roles.central.begin() as sql:
        sql.execute(text(f"LOCK TABLE {COMPLAINT_LOG.name} IN SHARE ROW EXCLUSIVE MODE"))
    with roles.central.begin() as tx:
        assert COMPLAINT_LOG.append(tx, "TS-0001", "complaint.received", T0, "public", {}) == 1


def _append_to_every_log(engine: Engine, cluster: PgCluster) -> None:
    """Two rows in each append-only log, written as central writes them (the events through the
    store, the others through their ledgers and the vault's erasure log's INSERT)."""
    url = StoreUrl.parse(engine.url.render_as_string(hide_password=False))
    store = CentralStore(url, SimulatedClock(T0))
    try:
        assert store.commit(batch_of([envelope(1), envelope(2)]), []) == (2, 0)
    finally:
        store.close()
    for n in (1, 2):
        with engine.begin() as tx:
            COMPLAINT_LOG.append(tx, f"TS-000{n}", "complaint.received", T0 + n, "public", {"n": n})
            BOOKING_LOG.append(tx, f"BK-000{n}", "booking.confirmed", T0 + n, "public", {"n": n})
            FOLLOWUP_LOG.append(tx, ("hall-01", f"R-{n}"), "opened", T0 + n, "system", f"note {n}")
            tx.execute(text("INSERT INTO personal_erasures (subject, at, actor, reason) "
                            "VALUES (:subject, :at, 'officer', 'asked')"),
                       {"subject": f"case:{n}", "at": T0 + n})
