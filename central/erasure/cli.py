"""`hall central privacy ...`: erase a citizen's personal data, apply the retention rule, read the log.

Works beside a running central (each step is one short transaction in each
store: the event store's SQLite file or PostgreSQL database, the case store's
file or, beside a PostgreSQL event store, the same database): an erasure holds for
the service at once, since it keeps no key.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from central.config import CentralConfig
from spine.storeurl import StoreUrl


@click.group(name="privacy")
def privacy_group() -> None:
    """Personal data: erase on request, erase what the retention rule says, show the erasure log."""


def _config_option(f: Any) -> Any:
    f = click.option("--sms-store", type=click.Path(path_type=Path),
                     help="an SMS outbox file to erase numbers from [default: central's PostgreSQL "
                          "database when [database] is one, else sms.sqlite in the data directory, "
                          "if there is one]")(f)
    return click.option("--config", "config_path", type=click.Path(path_type=Path),
                        help="central TOML (its data_dir and [privacy])")(f)


def _config(path: Path | None) -> CentralConfig:
    from spine.config import ConfigError, load_config

    try:
        return load_config(CentralConfig, path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def _eraser(config: CentralConfig, sms_store: Path | None) -> Iterator[Any]:
    """An `Eraser` over central's files, opened for one command."""
    from central.booking.retention import BookingRetention
    from central.booking.store import BookingStore
    from central.cases.store import CaseStore
    from central.erasure.eraser import Eraser
    from central.erasure.places import CasePlace, CentralPlace, PersonalPlace
    from central.personal.events import SealingEventStore
    from spine.clock import SystemClock

    clock = SystemClock()
    where = _case_store(config)
    events = SealingEventStore(config.event_store, clock)
    try:
        cases = CaseStore.open(where, calendar_dir=config.calendar_dir) if where else None
    except BaseException:
        events.close()
        raise
    sms = _sms_store(config, sms_store)
    places: list[PersonalPlace] = [CentralPlace(events)]
    places.append(BookingRetention(BookingStore(events)))  # which bookings the rule has made due
    if cases is not None:
        places.append(CasePlace(lambda: _as_context(cases)))
    try:
        yield Eraser(places, config.privacy, clock=clock.wall_ms, sms=sms)
    finally:
        events.close()
        if cases is not None:
            cases.close()
        if sms is not None:
            sms.close()


def _case_store(config: CentralConfig) -> StoreUrl | None:
    """Where the cases are, as the running central finds them (`case_store_at`): its
    `cases.sqlite` beside a SQLite event store (None when there is none), central's PostgreSQL
    database beside one there, which must not still wait for the file's cases to be moved."""
    from central.cases.database import CasesLeftBehind, case_store_at, refuse_to_open

    where = case_store_at(config.event_store, config.cases_path)
    if where.is_sqlite:
        return where if config.cases_path.exists() else None
    try:
        refuse_to_open(where, config.cases_path)
    except CasesLeftBehind as error:
        raise click.ClickException(str(error)) from error
    return where


@contextmanager
def _as_context(value: Any) -> Iterator[Any]:
    yield value


def _sms_store(config: CentralConfig, sms_store: Path | None) -> _SmsStore | None:
    """The SMS outbox an erasure reaches: the file named, else central's PostgreSQL database (the
    outbox every central process shares), else the data directory's sms.sqlite if there is one."""
    if sms_store is not None:
        return _SmsStore(sms_store)
    if not config.event_store.is_sqlite:
        return _SmsStore(config.event_store)
    path = config.data_dir / "sms.sqlite"
    return _SmsStore(path) if path.exists() else None


class _SmsStore:
    """The SMS outbox alone (no sender, no worker): what erasure needs of it."""

    def __init__(self, store: Path | StoreUrl) -> None:
        from central.sms.outbox import SmsOutbox

        self.outbox = SmsOutbox(store, process="hall central privacy")

    def erase(self, phone: str) -> dict[str, int]:
        return self.outbox.erase(phone)

    def erase_before(self, cutoff_ms: int) -> dict[str, int]:
        return self.outbox.erase_before(cutoff_ms)

    def close(self) -> None:
        self.outbox.close()


@privacy_group.command(name="erase")
@_config_option
@click.option("--phone", help="the citizen's number, in any form: every record holding it")
@click.option("--case", "case_id", help="one case's contact")
@click.option("--complaint", help="one complaint's complainant")
@click.option("--by", "actor", required=True, help="who erases (recorded in the erasure log)")
def erase(config_path: Path | None, sms_store: Path | None, phone: str | None, case_id: str | None,
          complaint: str | None, actor: str) -> None:
    """Erase a citizen's personal data; the records, their dates and their lights stay, and every
    hash chain still verifies."""
    from central.personal import case_subject, complaint_subject

    if sum(x is not None for x in (phone, case_id, complaint)) != 1:
        raise click.UsageError("give exactly one of --phone, --case, --complaint")
    with _eraser(_config(config_path), sms_store) as eraser:
        if phone is not None:
            report = eraser.erase_phone(phone, actor=actor)
        else:
            subject = case_subject(case_id) if case_id is not None else complaint_subject(str(complaint))
            report = eraser.erase_subjects([subject], actor=actor, reason="a citizen's request")
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    if not report.subjects and not any(report.sms.values()):
        click.echo("nothing held that data (or it was erased before)", err=True)
        sys.exit(1)


@privacy_group.command(name="erase-due")
@_config_option
def erase_due(config_path: Path | None, sms_store: Path | None) -> None:
    """Apply the retention rule ([privacy] in the TOML) now; the running central does it hourly."""
    with _eraser(_config(config_path), sms_store) as eraser:
        report = eraser.erase_due(actor="retention (hall central privacy erase-due)")
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))


@privacy_group.command(name="erasures")
@click.option("--config", "config_path", type=click.Path(path_type=Path))
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
def erasures(config_path: Path | None, limit: int) -> None:
    """The erasure logs (events and cases), newest first: what was erased when, by whom, why."""
    from central.personal import vault
    from central.store import CentralStore
    from spine.clock import SystemClock
    from spine.sqlite import open_database

    config = _config(config_path)
    places: list[tuple[str, list[dict[str, Any]]]] = []
    events = config.event_store
    if events.path is None or events.path.exists():  # a database, or a file already made
        store = CentralStore(events, SystemClock())
        try:
            places.append(("events", store.read(lambda tx: vault.erasures(tx, limit))))
        except sqlite3.OperationalError:  # a file that never sealed anything has no erasure log
            pass
        finally:
            store.close()
    if config.event_store.is_sqlite and config.cases_path.exists():
        # On PostgreSQL the cases' erasures are in the database's one erasure log, listed above.
        connection = open_database(config.cases_path)
        try:
            places.append(("cases", vault.erasures(vault.reads(connection), limit)))
        except sqlite3.OperationalError:
            pass
        finally:
            connection.close()
    for name, rows in places:
        for row in rows:
            click.echo(json.dumps({"place": name, **row}, ensure_ascii=False))
