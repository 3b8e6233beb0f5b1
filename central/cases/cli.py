"""Operator commands for cases: deadline calculator, verify, head, import, tick, calendar, lights, stats,
moving a cases.sqlite into PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from spine.storeurl import StoreUrl, StoreUrlError

DEFAULT_DB = Path(os.environ.get("HALLWATCH_CASES_DB", "var/central/cases.sqlite"))
_CALENDAR_ENV = os.environ.get("HALLWATCH_CALENDAR_DIR")
CALENDAR_DIR = Path(_CALENDAR_ENV) if _CALENDAR_ENV else None
"""None: the `calendar/` folder beside the database (what the central service reads too)."""


CaseDb = Path | StoreUrl
"""Where `--db` says the case store is: its SQLite file, or central's PostgreSQL database."""


class _CaseDbParam(click.ParamType):
    """A SQLite file, or a `postgresql://USER@HOST[:PORT]/DATABASE` URL (no password in it:
    PGPASSFILE or ~/.pgpass, as for psql)."""

    name = "FILE|URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> CaseDb:
        if isinstance(value, (Path, StoreUrl)):
            return value
        if str(value).startswith("postgresql"):
            try:
                return StoreUrl.parse(str(value))
            except StoreUrlError as error:
                self.fail(str(error), param, ctx)
        return Path(value)


def _db_option(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--rules", "rules_path", type=click.Path(path_type=Path, exists=True),
                     help="rule table TOML (default: the shipped one)")(f)
    f = click.option("--calendar-dir", type=click.Path(path_type=Path), default=CALENDAR_DIR,
                     help="yearly schedule files (YYYY.toml) for years the package lacks "
                          "[default: calendar/ beside a SQLite --db]")(f)
    return click.option("--db", type=_CaseDbParam(), default=DEFAULT_DB, show_default=True,
                        help="the case store: its SQLite file, or central's PostgreSQL database "
                             "(postgresql://USER@HOST/DATABASE)")(f)


def _engine(db: CaseDb, calendar_dir: Path | None, rules_path: Path | None) -> Any:
    from central.cases.engine import Engine
    from central.cases.rules import RulesError, RuleTable

    try:
        rules = RuleTable.load(rules_path) if rules_path else None
    except RulesError as error:
        raise click.ClickException(str(error)) from error
    return Engine.open(db, calendar_dir=calendar_dir, rules=rules)


def _instant(text: str | None) -> int | None:
    from central.cases.timebase import parse_instant

    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


def _pad(text: str, width: int) -> str:
    """Left-justify for a terminal, where a Han character takes two columns."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - shown)


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@click.command(name="deadline")
@click.option("--accepted", required=True, help="acceptance instant, e.g. 2026-11-23T10:00")
@click.option("--limit", type=click.IntRange(1, 3650), required=True)
@click.option("--unit", type=click.Choice(["workdays", "days", "months"]), default="workdays",
              show_default=True)
@click.option("--suspend", multiple=True, metavar="FROM..TO",
              help="a suspension; repeat for several; FROM.. while still suspended")
@click.option("--at", "at_text", help="show the stage at this instant (default: now)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--calendar-dir", type=click.Path(path_type=Path),
              default=CALENDAR_DIR or DEFAULT_DB.parent / "calendar", show_default=True)
@click.option("--rules", "rules_path", type=click.Path(path_type=Path, exists=True))
def deadline(accepted: str, limit: int, unit: str, suspend: tuple[str, ...],
             at_text: str | None, as_json: bool, calendar_dir: Path,
             rules_path: Path | None) -> None:
    """When is a case due? The due day, when each stage begins, and the stage at --at."""
    import time

    from central.cases.calculator import calculate, parse_hold
    from central.cases.calendar import ScheduleFileError, load_calendar
    from central.cases.rules import RuleTable
    from central.cases.stages import LimitUnit

    try:
        calendar = load_calendar(calendar_dir)
        holds = tuple(parse_hold(text) for text in suspend)
    except (ScheduleFileError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    rules = RuleTable.load(rules_path)
    at = _instant(at_text) or int(time.time())
    answer = calculate(_instant(accepted) or 0, limit, LimitUnit(unit), holds, at, calendar,
                       rules.ladder)
    if as_json:
        _echo_json(answer.as_dict())
    else:
        click.echo("\n".join(answer.lines()))


@click.command(name="verify")
@_db_option
@click.option("--head", "head_file", type=click.Path(path_type=Path, exists=True),
              help="a head exported earlier: prove the log still extends it")
def verify(db: CaseDb, calendar_dir: Path | None, rules_path: Path | None, head_file: Path | None) -> None:
    """Check the whole hash-chained case log; name the first bad record."""
    from central.chain import Head

    engine = _engine(db, calendar_dir, rules_path)
    published = Head.from_json(head_file.read_text()) if head_file else None
    report = engine.store.verify(published)
    engine.close()
    if report.ok:
        extends = f", extends published head {published.seq}" if published else ""
        click.echo(f"ok: {report.checked} records, head {report.head.seq} "
                   f"{report.head.hash}{extends}")
        return
    where = f"first bad record: {report.first_bad}: " if report.first_bad else ""
    click.echo(f"FAILED: {where}{report.problem}", err=True)
    sys.exit(1)


@click.command(name="head")
@_db_option
@click.option("--out", type=click.Path(path_type=Path), help="write the head here (JSON)")
def head(db: CaseDb, calendar_dir: Path | None, rules_path: Path | None, out: Path | None) -> None:
    """Export the log's head hash, for publishing outside the system."""
    engine = _engine(db, calendar_dir, rules_path)
    text = engine.store.head().to_json()
    engine.close()
    if out:
        out.write_text(text + "\n")
    click.echo(text)


@click.command(name="import")
@_db_option
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--strict", is_flag=True, help="refuse entries that have warnings")
@click.option("--at", "at_text",
              help="judge the cases as of this instant (default: now); facts after it are refused")
def import_cases(db: CaseDb, calendar_dir: Path | None, rules_path: Path | None, source: Any,
                 strict: bool, at_text: str | None) -> None:
    """Import cases and facts from a JSON Lines file ('-' for standard input).

    Every case is judged once all the file's lines are in, as of --at, in one tick.
    """
    from central.cases.importer import import_lines
    from central.cases.timebase import format_instant

    engine = _engine(db, calendar_dir, rules_path)
    try:
        report = import_lines(engine.store, source, strict=strict, at=_instant(at_text))
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    finally:
        engine.close()
    click.echo(f"stored {report.stored}, duplicates {report.duplicates}, "
               f"with warnings {report.warned}, rejected {len(report.rejected)}")
    assert report.at is not None
    click.echo(f"judged as of {format_instant(report.at)}: {report.judged} cases, "
               f"{report.issued} escalations/reminders issued")
    for problem in report.rejected[:50]:
        click.echo(f"  line {problem.line}: {'; '.join(problem.problems)}", err=True)
    for warned in report.warnings[:50]:
        click.echo(f"  line {warned.line}: stored with warning: {'; '.join(warned.problems)}")
    if report.rejected:
        sys.exit(1)


@click.command(name="tick")
@_db_option
@click.option("--at", "at_text", help="tick as of this instant (default: now)")
def tick(db: CaseDb, calendar_dir: Path | None, rules_path: Path | None, at_text: str | None) -> None:
    """Bring every due case's light up to date and issue what fell due."""
    from central.cases.timebase import format_instant

    engine = _engine(db, calendar_dir, rules_path)
    report = engine.tick(_instant(at_text))
    click.echo(f"{report.processed} cases due, {len(report.changes)} lights changed, "
               f"{len(report.issued)} escalations/reminders issued")
    for issue in report.issued:
        click.echo(f"  {issue.case_id}: {issue.kind}")
    for source in engine.store.sources.states(report.now):
        if source.incomplete_since is not None:
            click.echo(f"  {source.source}: data incomplete since "
                       f"{format_instant(source.incomplete_since)}; its cases wait")
    for run, held in engine.store.projector.held().items():
        click.echo(f"  {run} holds {held} cases: an import that has not finished (if it "
                   "died, run it again)")
    engine.close()


@click.command(name="lights")
@_db_option
@click.option("--hall")
@click.option("--unit")
@click.option("--json", "as_json", is_flag=True)
def lights(db: CaseDb, calendar_dir: Path | None, rules_path: Path | None, hall: str | None,
           unit: str | None, as_json: bool) -> None:
    """Open cases and their lights, most urgent first (after a tick)."""
    engine = _engine(db, calendar_dir, rules_path)
    engine.tick()
    rows = engine.store.lights(hall=hall, unit=unit)
    engine.close()
    if as_json:
        _echo_json([row.model_dump(mode="json") for row in rows])
        return
    for row in rows:
        flag = "  (done, not confirmed)" if row.awaiting_confirmation else ""
        click.echo(f"{row.stage.value:<19} {row.case_id:<22} due {row.due_day or '?':<10} "
                   f"{row.hall} / {row.unit} / {row.matter} / {row.officer_name}{flag}")


@click.command(name="case")
@_db_option
@click.argument("case_id")
@click.option("--history", is_flag=True, help="also print every log record of the case")
def show_case(db: CaseDb, calendar_dir: Path | None, rules_path: Path | None, case_id: str,
              history: bool) -> None:
    """A case's record (phones masked), its light and schedule."""
    from central.cases.store import UnknownCase

    engine = _engine(db, calendar_dir, rules_path)
    try:
        _echo_json(engine.store.case(case_id).model_dump(mode="json"))
    except UnknownCase as error:
        raise click.ClickException(str(error)) from error
    if history:
        _echo_json([e.model_dump(mode="json") for e in engine.store.history(case_id)])
    engine.close()


@click.command(name="stats")
@_db_option
@click.option("--by", type=click.Choice(["hall", "unit", "window", "matter", "officer", "day",
                                          "month", "year"]))
@click.option("--since", help="from (inclusive), e.g. 2026-01-01")
@click.option("--until", help="to (exclusive)")
@click.option("--json", "as_json", is_flag=True)
def stats(db: CaseDb, calendar_dir: Path | None, rules_path: Path | None, by: str | None,
          since: str | None, until: str | None, as_json: bool) -> None:
    """Received, completed, on-time rate, yellow cards, red cards, letters."""
    engine = _engine(db, calendar_dir, rules_path)
    figures = engine.store.statistics(by=by, since=_instant(since), until=_instant(until))
    engine.close()
    if as_json:
        _echo_json([f.as_row() for f in figures])  # the API's shape (`/api/statistics`)
        return
    click.echo(f"{'group':<24}{'received':>9}{'completed':>10}{'on time':>9}"
               f"{'yellow':>8}{'red':>5}{'letters':>8}")
    for f in figures:
        rate = f"{f.on_time_rate:.0%}" if f.on_time_rate is not None else "-"
        click.echo(f"{_pad(str(f.group or 'all'), 24)}{f.received:>9}{f.completed:>10}{rate:>9}"
                   f"{f.yellow_cards:>8}{f.red_cards:>5}{f.supervision_letters:>8}")


@click.command(name="seed-demo")
@_db_option
def seed_demo(db: CaseDb, calendar_dir: Path | None, rules_path: Path | None) -> None:
    """Enter a dozen demo cases in every stage (for trying the screens)."""
    from central.cases.demo import seed_demo_cases

    engine = _engine(db, calendar_dir, rules_path)
    now = engine.store.now()
    ids = seed_demo_cases(engine.store, now)
    engine.tick(now)
    click.echo(f"{len(ids)} demo cases in {db}")
    engine.close()


@click.command(name="move-cases")
@click.option("--from", "source", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=DEFAULT_DB, show_default=True,
              help="the cases.sqlite central kept its cases in (only read)")
@click.option("--db", "target", type=_CaseDbParam(), required=True,
              help="central's PostgreSQL database (postgresql://USER@HOST/DATABASE; the password "
                   "from PGPASSFILE or ~/.pgpass), migrated (`hall central migrate`)")
@click.option("--resume", is_flag=True, help="finish a move that was interrupted")
@click.option("--rename", is_flag=True,
              help="after a successful move, rename the file to cases.sqlite.moved")
def move_cases_command(source: Path, target: CaseDb, resume: bool, rename: bool) -> None:
    """Copy the case store of a cases.sqlite into central's PostgreSQL database, and check it.

    Every table as it is (the hash-chained log, the cases and their countdown state, issued
    escalations, watermarks, the engine's state, sealed personal data); refuses a database
    that holds cases already. Run it with central stopped.
    """
    from central.cases.move import MoveRefused, move_cases

    if not isinstance(target, StoreUrl) or target.is_sqlite:
        raise click.BadParameter("the move is into a PostgreSQL database", param_hint="--db")
    try:
        report = move_cases(source, target, resume=resume, rename=rename)
    except MoveRefused as error:
        raise click.ClickException(str(error)) from error
    for table, copied in report.copied.items():
        click.echo(f"  {table}: {copied} rows copied")
    if report.reindexed:
        click.echo("  the phones' index was made again with the database's index key")
    for table, (theirs, ours) in report.counts.items():
        click.echo(f"  {table}: {theirs} in the file, {ours} in the database")
    assert report.verified is not None
    click.echo(f"ok: the case log in the database verifies: {report.verified.checked} records, "
               f"head {report.head.seq} {report.head.hash}")
    if report.renamed_to is not None:
        click.echo(f"{source} renamed to {report.renamed_to}")


@click.group(name="calendar")
def calendar_group() -> None:
    """The working-day calendar: what it covers, and adding a year's official schedule."""


@calendar_group.command(name="show")
@click.option("--calendar-dir", type=click.Path(path_type=Path),
              default=CALENDAR_DIR or DEFAULT_DB.parent / "calendar", show_default=True)
def calendar_show(calendar_dir: Path) -> None:
    """Years covered, where each comes from, and the calendar's fingerprint."""
    from central.cases.calendar import load_calendar

    calendar = load_calendar(calendar_dir)
    years = calendar.years
    click.echo(f"fingerprint {calendar.fingerprint()}; years {years[0]}..{years[-1]}")
    for year in years[-5:]:
        schedule = calendar.schedules[year]
        click.echo(f"  {year}: {len(schedule.holidays)} holidays, {len(schedule.workdays)} "
                   f"make-up workdays ({schedule.source})")


@calendar_group.command(name="add")
@_db_option
@click.argument("schedule", type=click.Path(path_type=Path, exists=True))
def calendar_add(db: CaseDb, calendar_dir: Path | None, rules_path: Path | None,
                 schedule: Path) -> None:
    """Check a yearly schedule file, install it, and recompute the cases it affects."""
    from central.cases.calendar import ScheduleFileError, load_schedule_file

    try:
        year = load_schedule_file(schedule).year
    except ScheduleFileError as error:
        raise click.ClickException(str(error)) from error
    if calendar_dir is None and isinstance(db, StoreUrl):
        raise click.UsageError("with the case store on PostgreSQL, name the --calendar-dir "
                               "central reads (its data_dir's calendar/)")
    if calendar_dir is None:
        assert isinstance(db, Path)
        calendar_dir = db.parent / "calendar"
    calendar_dir.mkdir(parents=True, exist_ok=True)
    target = calendar_dir / f"{year}.toml"
    shutil.copyfile(schedule, target)
    engine = _engine(db, calendar_dir, rules_path)  # opening syncs and logs the change
    update = [e for e in engine.store.events(0, 10**9) if e.kind == "calendar.updated"][-1]
    engine.close()
    click.echo(f"installed {target}; {update.body['recomputed']} cases recomputed "
               f"({update.body['examined']} examined)")


def register_case_commands(group: click.Group) -> None:
    """Add the case commands (`deadline`, `verify`, ...) to `hall central`."""
    for command in (deadline, verify, head, import_cases, tick, lights, show_case, stats,
                    seed_demo, calendar_group, move_cases_command):
        group.add_command(command)
