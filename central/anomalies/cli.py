"""`hall central anomalies ...`: the rule table, and the back-test of a rule over history."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import click

DEFAULT_DIR = Path(os.environ.get("HALLWATCH_CENTRAL_DIR", "var/central"))


def _instant_ms(text: str | None) -> int | None:
    from central.cases.timebase import parse_instant

    if text is None:
        return None
    try:
        return parse_instant(text) * 1000
    except ValueError as error:
        raise click.BadParameter(f"{text!r}: {error}") from error


def _rules(path: Path | None) -> Any:
    from central.anomalies.table import AnomalyRules, RulesError

    try:
        return AnomalyRules.load(path)
    except RulesError as error:
        raise click.ClickException(str(error)) from error


@click.group(name="anomalies")
def anomalies_group() -> None:
    """Anomaly and integrity-risk rules (docs/supervision.md)."""


@anomalies_group.command("rules")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path, exists=True),
              help="a rule table TOML (default: the shipped starter rules)")
def list_rules(rules_path: Path | None) -> None:
    """The rule table: each rule's risk, who is told, and what it means."""
    for rule in _rules(rules_path):
        state = "" if rule.enabled else "  (off)"
        click.echo(f"{rule.name}  [{rule.risk.value}] {rule.title}{state}  -> {', '.join(rule.notify)}")
        click.echo(f"    {rule.explanation}")
        settings = rule.settings.model_dump(mode="json")
        if settings:
            click.echo(f"    settings: {json.dumps(settings, ensure_ascii=False)}")


@anomalies_group.command("backtest")
@click.argument("rule")
@click.option("--since", help="from this instant (2026-01-01, 2026-01-01T08:00); default: the beginning")
@click.option("--until", help="until this instant (exclusive); default: the end")
@click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DIR, show_default=True,
              help="central's data directory (cases.sqlite, events.sqlite)")
@click.option("--db", help="central's PostgreSQL database (postgresql://USER@HOST/DATABASE, the password "
                           "from PGPASSFILE or ~/.pgpass): read the events and cases there, "
                           "not in --data-dir")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path, exists=True),
              help="a rule table TOML to try (default: the shipped starter rules)")
@click.option("--calendar-dir", type=click.Path(path_type=Path),
              help="yearly schedule files (default: calendar/ in --data-dir)")
@click.option("--show", type=click.IntRange(0, 10000), default=10, show_default=True,
              help="how many of the hits to list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def backtest(rule: str, since: str | None, until: str | None, data_dir: Path, db: str | None,
             rules_path: Path | None, calendar_dir: Path | None, show: int, as_json: bool) -> None:
    """How many hits RULE (or `all`) would have raised over history; nothing is recorded (the rules'
    state is held in memory for the run, on either database)."""
    from central.anomalies.backtest import history_facts, run_backtest, store_history
    from central.anomalies.casereads import CaseReads
    from central.anomalies.feeds import ReadOnlyFile
    from central.anomalies.pseudonyms import Pseudonyms
    from central.cases.calendar import load_calendar
    from central.cases.rules import default_rules as case_rules
    from spine.storeurl import StoreUrl, StoreUrlError

    table = _rules(rules_path)
    chosen = list(table) if rule == "all" else [_one(table, rule)]
    cases_path, events_path = data_dir / "cases.sqlite", data_dir / "events.sqlite"
    started = time.perf_counter()
    cases: CaseReads | None
    events: CaseReads | ReadOnlyFile | None
    if db is not None:
        try:
            url = StoreUrl.parse(db)
        except StoreUrlError as error:
            raise click.BadParameter(str(error), param_hint="--db") from error
        # One connection reads both: on PostgreSQL the events and the cases are in the one database.
        cases = events = CaseReads.open(url)
    else:
        if not cases_path.exists() and not events_path.exists():
            raise click.ClickException(f"no central data in {data_dir} (cases.sqlite, events.sqlite)")
        cases = CaseReads.open(cases_path) if cases_path.exists() else None
        events = ReadOnlyFile(events_path) if events_path.exists() else None
    try:
        kinds = {kind for spec in chosen for kind in spec.build().kinds}
        facts = history_facts(cases, events, kinds, _instant_ms(since), _instant_ms(until))
        # A key of this run only: the pseudonyms of applicants live and die with the back-test.
        report = run_backtest(chosen, facts, cases=store_history(cases), ladder=case_rules().ladder,
                              calendar=load_calendar(calendar_dir or data_dir / "calendar"),
                              pseudonym=Pseudonyms(secrets.token_bytes(32), cases))
    finally:
        for connection in {id(c): c for c in (cases, events) if c is not None}.values():
            connection.close()
    report.seconds = time.perf_counter() - started  # reading history included
    if as_json:
        click.echo(json.dumps(_as_dict(report, show), ensure_ascii=False, indent=2))
        return
    click.echo(f"{report.facts:,} facts read and judged in {report.seconds:.1f} s"
               f"{_span(report.first_at, report.last_at)}")
    for result in report.results:
        click.echo(f"{result.rule.name} ({result.rule.title}, {result.rule.risk.value}): "
                   f"{len(result.hits):,} hits from {result.facts:,} facts of its kinds")
        for hit in result.hits[:show]:
            click.echo(f"    {_when(hit.at)}  {hit.summary}")
        if len(result.hits) > show:
            click.echo(f"    ... and {len(result.hits) - show:,} more")


@anomalies_group.command("copy-office")
@click.option("--config", "config_path", type=click.Path(path_type=Path, exists=True), required=True,
              help="central's TOML, whose [database] is PostgreSQL")
def copy_office(config_path: Path) -> None:
    """Copy `<data_dir>/supervision.sqlite` (anomalies, projects, their logs and keys) into central's
    PostgreSQL database, once, before central starts there; both logs are verified after the copy."""
    from central.anomalies.copying import CopyRefused
    from central.anomalies.copying import copy_office as copy
    from central.config import CentralConfig
    from central.supervision_store import SupervisionStore
    from spine.config import ConfigError, load_config

    try:
        config = load_config(CentralConfig, config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    own_file = config.data_dir / "supervision.sqlite"
    if config.event_store.is_sqlite:
        raise click.ClickException("central's store is a SQLite file: the office keeps supervision.sqlite")
    if not own_file.exists():
        raise click.ClickException(f"no {own_file}: nothing to copy")
    target = SupervisionStore(config.event_store)
    try:
        copied = copy(own_file, target)
    except CopyRefused as error:
        raise click.ClickException(str(error)) from error
    finally:
        target.close()
    rows = ", ".join(f"{name} {count}" for name, count in copied.rows.items() if count)
    click.echo(f"copied {own_file} into {config.event_store}: {rows or 'no rows'}")
    for name, head in copied.heads.items():
        click.echo(f"ok: {name}: verified in the database, head {head} as in the file")


def _one(table: Any, name: str) -> Any:
    from central.anomalies.table import RulesError

    try:
        return table.get(name)
    except RulesError as error:
        raise click.ClickException(str(error)) from error


def _when(ms: int) -> str:
    from central.cases.timebase import format_instant

    return format_instant(ms // 1000)


def _span(first: int | None, last: int | None) -> str:
    return f", from {_when(first)} to {_when(last)}" if first is not None and last is not None else ""


def _as_dict(report: Any, show: int) -> dict[str, Any]:
    return {"facts": report.facts, "seconds": round(report.seconds, 3),
            "rules": [{"rule": r.rule.name, "hits": len(r.hits), "facts": r.facts,
                       "shown": [{"at": _when(h.at), "key": h.key, "summary": h.summary}
                                 for h in r.hits[:show]]}
                      for r in report.results]}
