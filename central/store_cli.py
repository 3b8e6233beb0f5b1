"""`hall central migrate` and `hall central verify-events`: the event store's schema and its check,
on whichever database `[database]` names (the password never printed)."""

from __future__ import annotations

import sqlite3
import sys
from functools import partial
from pathlib import Path

import click
from sqlalchemy import inspect

from central.chain import VerifyReport
from central.config import CentralConfig
from central.ledger import Ledger
from spine.config import ConfigError, load_config
from spine.statement import Tx

_CONFIG = click.option("--config", "config_path", type=click.Path(path_type=Path), help="central TOML")


def _config(config_path: Path | None) -> CentralConfig:
    try:
        return load_config(CentralConfig, config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command(name="migrate")
@_CONFIG
def migrate(config_path: Path | None) -> None:
    """Bring the event store's schema to this release's revision (creating it on a new database)."""
    from central import migrations
    from central.store import CentralStore
    from spine.clock import SystemClock
    from spine.engines import open_engine

    url = _config(config_path).event_store
    if url.is_sqlite:
        # A SQLite file gets its tables as the store opens; the revision is then only recorded.
        CentralStore(url, SystemClock()).close()
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            revision = migrations.upgrade(connection)
    finally:
        engine.dispose()
    click.echo(f"{url}: schema at revision {revision}")


@click.command(name="verify-events")
@_CONFIG
def verify_events(config_path: Path | None) -> None:
    """Check the event store: the event log's append-only guard in place and every row as its
    envelope says, and the hash chain of each log kept beside it (complaints, bookings, rating
    follow-ups, and the supervision office's anomaly and project logs), naming the first bad row."""
    from central.store import CentralStore
    from spine.clock import SystemClock

    config = _config(config_path)
    url = config.event_store
    store = CentralStore(url, SystemClock())
    try:
        report = store.verify()
        chains = [(ledger, store.read(partial(_verify_chain, ledger=ledger)))
                  for ledger in _chained_logs() + ([] if url.is_sqlite else _supervision_logs())]
    finally:
        store.close()
    own_file = config.data_dir / "supervision.sqlite"
    if url.is_sqlite and own_file.exists():
        # Beside a SQLite event store the supervision office keeps its logs in a file of its own.
        office = sqlite3.connect(f"file:{own_file}?mode=ro", uri=True)
        try:
            chains += [(ledger, _verify_chain(office, ledger)) for ledger in _supervision_logs()]
        finally:
            office.close()
    failed = False
    if report.ok:
        click.echo(f"ok: {report.checked} events in {url}")
    else:
        where = f"first bad event: {report.first_bad}: " if report.first_bad else ""
        click.echo(f"FAILED: {where}{report.problem}", err=True)
        failed = True
    for ledger, chain in chains:
        if chain is None:
            click.echo(f"ok: {ledger.name}: not made yet (nothing to check)")
        elif chain.ok:
            click.echo(f"ok: {ledger.name}: {chain.checked} rows, head {chain.head.seq}")
        else:
            click.echo(f"FAILED: {ledger.name}: first bad row {chain.first_bad}: {chain.problem}", err=True)
            failed = True
    if failed:
        sys.exit(1)


def _supervision_logs() -> list[Ledger]:
    """The supervision office's logs: in the event store's PostgreSQL database, or beside a SQLite
    event store in `<data_dir>/supervision.sqlite`."""
    from central.anomalies.book import LOG as ANOMALY_LOG
    from central.projects.desk import LOG as PROJECT_LOG

    return [ANOMALY_LOG, PROJECT_LOG]


def _chained_logs() -> list[Ledger]:
    """The hash-chained logs in the event store's database (the case log has `hall central verify`)."""
    from central.booking.log import LOG as BOOKING_LOG
    from central.complaints.log import LOG as COMPLAINT_LOG
    from central.ratings.tables import FOLLOWUP_LOG

    return [COMPLAINT_LOG, BOOKING_LOG, FOLLOWUP_LOG]


def _verify_chain(tx: Tx, ledger: Ledger) -> VerifyReport | None:
    """The log's chain checked from its first row; None where its table was never made (a SQLite
    file gets a log's table when the part that writes it first runs)."""
    if isinstance(tx, sqlite3.Connection):
        made = tx.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                          (ledger.name,)).fetchone() is not None
    else:
        made = inspect(tx).has_table(ledger.name)
    if not made:
        return None
    return ledger.verify(tx)
