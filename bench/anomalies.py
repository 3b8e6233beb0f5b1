"""Anomaly rules benchmark: the back-test of the seed's year, and the live cost per 1,000 events.

Run: `.venv/bin/python -m bench.anomalies` (`BENCH_CASES=5000` for a quick run).

1. The seed's year (51,055 cases, `central.anomalies.synthetic`: the countdown's
   synthetic history with a known handful of irregularities planted) is
   back-tested with every starter rule: hits per rule beside what was planted,
   and the time it took.
2. A hall's busy days arrive at central (tickets, calls and outcomes,
   ratings, recorder gaps, refusals, cases and their facts) and the running
   office's ticks judge them with every starter rule on: the cost per 1,000
   events stored at central, all in (reading what the rules read from the
   event store and the case log, parking it until its hall is known
   complete, judging, committing the rules' state and their anomalies).
"""

from __future__ import annotations

import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from central.anomalies.backtest import run_backtest
from central.anomalies.synthetic import synthetic_year
from central.anomalies.table import default_rules
from central.appointments import HallAppointments
from central.cases.calendar import load_calendar
from central.cases.engine import Engine
from central.cases.rules import default_rules as case_rules
from central.cases.synthetic import HistoryShape
from central.cases.timebase import format_instant, parse_instant
from central.hall_watermarks import HallWatermarks
from central.personal.events import SealingEventStore
from central.supervision import open_office
from central.supervision_settings import SupervisionSettings
from contract.envelope import Batch, Envelope, Received
from spine.clock import SimulatedClock
from spine.receiver import AcceptedEvent, IncomingBatch

CASES = int(os.environ.get("BENCH_CASES", "51055"))
DAYS = int(os.environ.get("BENCH_DAYS", "5"))
HALL = "hall-01"


def _timed(action: Callable[[], Any]) -> tuple[float, float, Any]:
    start, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - start, time.process_time() - cpu, result


def year() -> None:
    shape = HistoryShape() if CASES == 51055 else HistoryShape(
        cases=CASES, completed=int(CASES * 0.96), suspended=int(CASES * 0.011))
    calendar, ladder = load_calendar(None), case_rules().ladder
    wall, cpu, synthetic = _timed(lambda: synthetic_year(shape, calendar, ladder))
    print(f"synthetic year: {synthetic.case_count:,} cases, {len(synthetic.facts):,} case facts "
          f"(made in {wall:.1f} s)", flush=True)
    wall, cpu, report = _timed(lambda: run_backtest(list(default_rules()), synthetic.facts,
                                                    cases=synthetic.cases, calendar=calendar, ladder=ladder))
    print(f"back-test, every starter rule: {wall:.1f} s (cpu {cpu:.1f} s), "
          f"{wall / max(1, report.facts) * 1e6:.0f} µs a fact", flush=True)
    for result in report.results:
        planted = synthetic.planted.get(result.rule.name)
        found = ({h.key for h in result.hits} if result.rule.name == "officer_applicant_pairs"
                 else {h.case_id for h in result.hits})
        beside = (f"planted {len(planted)}, all found: {planted <= found}" if planted
                  else "nothing of its kinds in a case history" if not result.facts else "none planted")
        print(f"  {result.rule.name:<26} {len(result.hits):>5} hits  from {result.facts:>6,} facts"
              f"   {beside}",
              flush=True)


def _envelopes(kinds: list[tuple[str, dict[str, Any], int]], device: str, kind: str | None) -> list[Envelope]:
    return [Envelope(v=1, id=uuid.uuid4().hex, device=device, seq=1, boot="boot0001", time=at, mono=0,
                     type=type_, body=body, recv=Received(by="gw-hall-01", at=at, est_time=at, kind=kind))
            for type_, body, at in kinds]


def _deliver(store: SealingEventStore, events: list[Envelope]) -> None:
    batch = Batch(v=1, batch=uuid.uuid4().hex, sender="gw-hall-01", boot="boot0001", sent_at=0, sent_mono=0,
                  events=[e.model_dump() for e in events])
    store.commit(IncomingBatch(topic=f"central/{HALL}/events", batch=batch, received_at=0,
                               events=[AcceptedEvent(e, e.model_dump_json(), True) for e in events]), [])


def _hall_day(rng: random.Random, day: str, visits: int) -> tuple[list[Envelope], list[Envelope]]:
    """A busy day's events of one hall: the gateway's facts, and its recorder's."""
    open_ms = parse_instant(f"{day}T08:30") * 1000
    gateway, recorder = [], []
    for n in range(visits):
        window = f"w{n % 12 + 1:02d}"
        ticket, at = f"A{n + 1:03d}", open_ms + n * 30_000
        fact = {"day": day, "ticket": ticket, "service": "A", "window": window, "officer": f"off-{window}"}
        gateway.append(("queue.ticket_issued", {**fact, "at": at}, at))
        called = at + 600_000
        gateway.append(("queue.called", {**fact, "at": called, "issued_at": at, "waiting_since": at,
                                         "wait_ms": 600_000, "call_back": rng.random() < 0.02}, called))
        if rng.random() < 0.05:
            gateway.append(("queue.no_show", {**fact, "at": called + rng.choice((8_000, 120_000)),
                                              "called_at": called}, called + 120_000))
            continue
        done = called + rng.randrange(120_000, 900_000)
        served = {**fact, "at": done, "called_at": called, "service_ms": done - called}
        gateway.append(("queue.served", served, done))
        grade = rng.choices(("very_satisfied", "satisfied", "basically_satisfied", "dissatisfied"),
                            (70, 22, 6, 2))[0]
        gateway.append(("rating.recorded", {"hall": HALL, "window": window, "officer": fact["officer"],
                                            "department": "民政局", "how": "visit",
                                            "terminal": f"rt-{window}", "rating": f"r-{day}-{n:05d}",
                                            "grade": grade, "rated_at": done + 5000,
                                            "source_event": "x"}, done + 5000))
    for n in range(6):
        start = open_ms + rng.randrange(8 * 3_600_000)
        recorder.append(("recorder.gap", {"gap_id": rng.randrange(1, 10**6), "camera": f"cam-{n % 3 + 1}",
                                          "start": start, "end": start + 300_000, "cause": "stalled"},
                         start + 300_000))
    gateway.append(("security.refused", {"device": "kiosk-9", "kind": "kiosk", "type": "rating.given",
                                         "reason": "a kiosk may not state rating.given", "refusals": 1},
                    open_ms + 3_600_000))
    return (_envelopes(sorted(gateway, key=lambda e: e[2]), "gw-hall-01", None),
            _envelopes(recorder, "recorder-1", "recorder"))


def _cases_of_day(engine: Engine, rng: random.Random, day: str, count: int, first: int) -> int:
    """A day's case facts, stated as they happen: entries, suspensions, completions, decisions."""
    stated = 0
    for n in range(count):
        case = f"BN-{first + n:06d}"
        accepted = parse_instant(f"{day}T09:00") + n * 60
        engine.store.submit({
            "case_id": case, "by": "off-1", "hall": HALL, "unit": "民政局", "window": "w01",
            "matter": "老年人优待证", "contact_name": "市民",
            "contact_phone": f"138{rng.randrange(10**8):08d}", "officer_name": "李明",
            "officer_phone": "13900001111", "applied_at": format_instant(accepted - 600),
            "accepted_at": format_instant(accepted), "limit": 2, "limit_unit": "months"}, now=accepted)
        facts: list[tuple[str, dict[str, Any], int]] = [
            ("case.suspended", {"reason": "testing"}, accepted + 600), ("case.resumed", {}, accepted + 1200),
            ("case.decided", {"matter": "违法建设罚款", "circumstance": "一般", "amount": 20000},
             accepted + 1800),
            ("case.completed", {}, accepted + 3600), ("case.completion_confirmed", {}, accepted + 3900)]
        for kind, body, at in facts[: 2 + n % 4]:
            who = "王科长" if kind == "case.completion_confirmed" else "李明"
            engine.store.record(kind, {"case_id": case, "by": who, "at": format_instant(at), **body}, now=at)
        stated += 1 + min(len(facts), 2 + n % 4)
    return stated


def live() -> tuple[int, float, float, int]:
    """Events stored, seconds and CPU seconds the office's ticks took, anomalies raised."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        clock = SimulatedClock(wall_ms=parse_instant("2026-11-23T08:00") * 1000)
        engine = Engine.open(root / "cases.sqlite", clock=lambda: clock.wall_ms() / 1000)
        store = SealingEventStore(root / "events.sqlite", clock)
        watermarks = HallWatermarks(store, clock, behind_after_s=120)
        store.handlers.append(watermarks)
        office = open_office(SupervisionSettings(), root / "supervision.sqlite",
                             events=root / "events.sqlite", cases=root / "cases.sqlite",
                             calendar=engine.store.calendar, ladder=engine.store.rules.ladder, grace_s=900,
                             clock=clock.wall_ms, appointments=HallAppointments(lambda _h, _c: None),
                             publish=lambda _k, _d: None)
        stored, seconds, cpu, raised = 0, 0.0, 0.0, 0
        for d in range(DAYS):
            day = f"2026-11-{23 + d:02d}" if d < 8 else f"2026-12-{d - 7:02d}"
            clock.set_wall(parse_instant(f"{day}T20:00") * 1000)
            gateway, recorder = _hall_day(rng, day, 800)
            for start in range(0, len(gateway), 500):
                _deliver(store, gateway[start:start + 500])
            _deliver(store, recorder)
            stored += len(gateway) + len(recorder)
            stored += _cases_of_day(engine, rng, day, 150, d * 1000)
            watermarks.heartbeat(HALL, {"at": clock.wall_ms(), "outbox_events": 0})
            wall, used, report = _timed(lambda: office.watch.tick(clock.wall_ms()))
            seconds, cpu, raised = seconds + wall, cpu + used, raised + len(report.raised)
        office.close()
        store.close()
        engine.close()
    return stored, seconds, cpu, raised


def main() -> None:
    year()
    stored, seconds, cpu, raised = live()
    print(f"live, every starter rule on: {stored:,} events over {DAYS} hall-days, "
          f"{seconds / stored * 1e6:.0f} ms per 1,000 events (cpu {cpu / stored * 1e6:.0f} ms), "
          f"{raised} anomalies raised", flush=True)


if __name__ == "__main__":
    main()
