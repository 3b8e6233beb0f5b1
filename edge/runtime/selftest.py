"""The self-test every device runs before it counts: its own checks, then the round trip to the gateway.

Each agent (kiosk, rating terminal, recorder) brings its hardware checks as
`Step`s; this runner adds what every device shares and reports the lot:

    steps = [Step("printer", print_test_ticket), Step("paper", check_paper)]
    report = SelfTest(agent, steps).run()          # the agent's uplink already started
    # or, from a `hall kiosk selftest` command that owns the agent:
    report = run_selftest(config, steps, out=click.echo)
    sys.exit(0 if report.passed else 1)

A check returns what it saw ("test ticket printed, 58 mm"), raises
`StepWarning` when it passed but something deserves a look ("printer status
unknown"), or raises `StepFailed` with what is wrong and what to do ("no
paper: load a roll"). Any other exception fails the step with its message.
After the device's own steps: the broker login, then a `device.selftest`
event that must come back acknowledged by the gateway, which answers with the
device's new state (`active` after a pass) on the device's command topic.

Every step is printed once, as `[ok]`, `[warn]` or `[FAILED]` with its
reason. Nothing a technician can fix ends in a traceback: credentials or TLS
files that cannot be read fail the `hall broker` step with the reason.
`offline=True` runs only the device's own steps.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from contract.commands.provisioning import SelftestResult
from contract.privacy import redact
from edge.runtime.agent import AgentConfig, DeviceIdentity, EdgeAgent
from edge.runtime.hardware.factory import KeypadUnavailable, build_keypad
from edge.runtime.hardware.keys import Keypad, KeyPress
from edge.runtime.hardware.settings import KeypadSettings
from spine.mqtt import reason_text

log = logging.getLogger(__name__)



class StepFailed(Exception):
    """Raised by a check: the message is the plain reason a technician reads."""


class StepWarning(Exception):
    """Raised by a check that passed but wants a look: the message says at what."""


@dataclass(frozen=True)
class Step:
    """One check. `check` returns what it saw, or raises StepFailed."""

    name: str
    check: Callable[[], str | None]
    timeout_s: float = 30.0


@dataclass(frozen=True)
class StepResult:
    name: str
    passed: bool
    reason: str
    duration_ms: int
    warning: bool = False
    """Passed, but the reason deserves a look."""

    def line(self) -> str:
        mark = "FAILED" if not self.passed else "warn" if self.warning else "ok"
        return f"[{mark}] {self.name}: {self.reason}"


@dataclass
class SelfTestReport:
    device: str
    kind: str
    steps: list[StepResult] = field(default_factory=list)
    gateway_state: str | None = None
    """The state the gateway answered with (`active` after a pass), None if it did not answer."""

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(s.passed for s in self.steps)

    def failures(self) -> list[StepResult]:
        return [s for s in self.steps if not s.passed]


def run_step(step: Step) -> StepResult:
    """Run one check with its deadline; a hung check fails instead of freezing the test."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["seen"] = step.check()
        except StepFailed as exc:
            outcome["failed"] = str(exc)
        except StepWarning as exc:
            outcome["warning"] = str(exc)
        except Exception as exc:  # a check's own bug or a driver error: still a plain failure
            outcome["failed"] = f"{type(exc).__name__}: {exc}"

    started = time.monotonic()
    worker = threading.Thread(target=target, name=f"selftest-{step.name}", daemon=True)
    worker.start()
    worker.join(step.timeout_s)
    took = int((time.monotonic() - started) * 1000)
    if worker.is_alive():
        return StepResult(step.name, False, f"did not finish within {step.timeout_s:.0f} s", took)
    if "failed" in outcome:
        return StepResult(step.name, False, redact(outcome["failed"])[:500] or "failed", took)
    if "warning" in outcome:
        return StepResult(step.name, True, redact(outcome["warning"])[:500] or "look", took, warning=True)
    return StepResult(step.name, True, redact(str(outcome.get("seen") or "ok"))[:500], took)


class _Lines:
    """A report being written: each result is kept and printed once, as it comes."""

    def __init__(self, identity: DeviceIdentity, out: Callable[[str], None]) -> None:
        self.report = SelfTestReport(identity.id, identity.kind)
        self.identity = identity
        self.out = out
        out(f"self-test of {identity.id} ({identity.kind}, hall {identity.hall})")

    def add(self, result: StepResult) -> None:
        self.report.steps.append(result)
        self.out(result.line())

    def run(self, steps: Iterable[Step]) -> None:
        for step in steps:
            self.add(run_step(step))

    def conclude(self, scope: str = "") -> SelfTestReport:
        report, device = self.report, self.identity.id
        if scope:
            failed = len(report.failures())
            self.out(f"PASSED ({scope})" if report.passed else f"FAILED ({scope}): {failed} step(s) failed")
        elif report.passed:
            self.out(f"PASSED: {device} is {report.gateway_state} at the gateway")
        else:
            self.out(f"FAILED: {len(report.failures())} step(s) failed; {device} is "
                     f"{report.gateway_state or 'unchanged'} at the gateway")
        return report


class _LinkWatch:
    """Listens on the agent's link: why the broker refused us, and the gateway's verdict."""

    def __init__(self, agent: EdgeAgent) -> None:
        self.refusal: str | None = None
        self.verdict: SelftestResult | None = None
        self.answered = threading.Event()
        client = agent.uplink.client
        chained: Any = client.on_connect  # paho types it as any callback API version

        def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            self.refusal = reason_text(reason) if reason.is_failure else None
            if chained is not None:
                chained(c, userdata, flags, reason, props)

        client.on_connect = on_connect
        agent.handle_command(SelftestResult, self._on_verdict)

    def _on_verdict(self, verdict: SelftestResult) -> None:
        self.verdict = verdict
        self.answered.set()


class SelfTest:
    def __init__(
        self,
        agent: EdgeAgent,
        steps: list[Step],
        *,
        out: Callable[[str], None] = print,
        connect_timeout_s: float = 20.0,
        gateway_timeout_s: float = 30.0,
        software: str | None = None,
    ) -> None:
        self.agent = agent
        self.steps = steps
        self.out = out
        self.connect_timeout_s = connect_timeout_s
        self.gateway_timeout_s = gateway_timeout_s
        self.software = software
        # Installed before the agent connects, so a refused login is seen with its reason.
        self._watch = _LinkWatch(agent)

    def run(self) -> SelfTestReport:
        lines = _Lines(self.agent.identity, self.out)
        lines.run(self.steps)
        lines.add(self._broker_login())
        self._round_trip(lines)
        return lines.conclude()

    def _broker_login(self) -> StepResult:
        broker = self.agent.config.broker
        started = time.monotonic()
        deadline = started + self.connect_timeout_s
        while time.monotonic() < deadline and not self.agent.uplink.stats.connected:
            if self._watch.refusal is not None:
                break
            time.sleep(0.05)  # polling the link's state against a deadline
        took = int((time.monotonic() - started) * 1000)
        where = f"{broker.host}:{broker.port}"
        if self.agent.uplink.stats.connected:
            return StepResult("hall broker", True, f"logged in to {where} as {broker.username}"
                              f"{' over TLS' if broker.tls_ca else ''}", took)
        if self._watch.refusal is not None:
            return StepResult("hall broker", False, f"{where} refused the login ({self._watch.refusal}): "
                              "the device's secret is wrong, rotated or retired; re-provision it", took)
        return StepResult("hall broker", False, f"no answer from {where} within "
                          f"{self.connect_timeout_s:.0f} s: is the gateway on, and this Pi on its network?",
                          took)

    def _round_trip(self, lines: _Lines) -> None:
        """Record the result; the gateway's acknowledgement and answer prove the round trip."""
        report = lines.report
        body = {
            "kind": report.kind,
            "passed": report.passed,
            "steps": [{"name": s.name, "passed": s.passed, "reason": s.reason, "duration_ms": s.duration_ms}
                      for s in report.steps],
            "software": self.software,
        }
        started = time.monotonic()
        self.agent.record("device.selftest", body)
        if not report.steps[-1].passed:  # no login: the result waits in the outbox for the next run
            lines.add(NO_ROUND_TRIP)
            return
        if not self.agent.uplink.wait_drained(self.gateway_timeout_s):
            reason = (f"the gateway did not acknowledge within {self.gateway_timeout_s:.0f} s: is the "
                      "gateway service running? (the result is kept and sent later)")
            lines.add(StepResult("gateway round trip", False, reason, _ms(started)))
            return
        if not self._watch.answered.wait(max(1.0, self.gateway_timeout_s - (time.monotonic() - started))):
            lines.add(StepResult("gateway round trip", False,
                                 "the gateway stored the result but did not answer", _ms(started)))
            return
        verdict = self._watch.verdict
        report.gateway_state = str(verdict.state) if verdict is not None else "None"
        lines.add(StepResult("gateway round trip", True,
                             f"gateway stored the result and answered: {report.gateway_state}", _ms(started)))


class KeyCheck:
    """Presses from the keypad under test, waited for one key at a time."""

    def __init__(self, keypad: Keypad, out: Callable[[str], None], timeout_s: float) -> None:
        self.keypad = keypad
        self.out = out
        self.timeout_s = timeout_s
        self.presses: queue.Queue[KeyPress] = queue.Queue()

    def step(self, key: str, meaning: str) -> Step:
        def check() -> str:
            self.out(f"  press the key for {meaning} ({key}) ...")
            deadline = time.monotonic() + self.timeout_s
            wrong: list[str] = []
            while (left := deadline - time.monotonic()) > 0:
                try:
                    press = self.presses.get(timeout=left)
                except queue.Empty:
                    break
                if press.key == key:
                    return f"pressed{' (after ' + ', '.join(wrong) + ')' if wrong else ''}"
                wrong.append(press.key)
            raise StepFailed(f"not pressed within {self.timeout_s:.0f} s"
                             f"{': got ' + ', '.join(wrong) if wrong else ''}; check the switch and its "
                             "entry in [keypad]")

        return Step(f"key {key}", check, timeout_s=self.timeout_s + 5)


def failed_step(name: str, reason: str) -> Step:
    """A step that fails with `reason`: a part that could not even be opened."""
    def fail() -> str:
        raise StepFailed(reason)

    return Step(name, fail)


def keypad_steps(
    settings: KeypadSettings, keys: Iterable[tuple[str, str]], *, out: Callable[[str], None],
    timeout_s: float, source: str, keypad: Keypad | None = None,
) -> tuple[list[Step], Keypad | None]:
    """The keypad opened (or why it cannot be), then one step per `(key, meaning)` that waits for
    the technician to press it. Returns the steps and the keypad opened here, to stop afterwards."""
    opened = None
    if keypad is None:
        try:
            keypad = opened = build_keypad(settings, source=source)
        except KeypadUnavailable as exc:
            return [failed_step("keypad", str(exc))], None
    checker = KeyCheck(keypad, out, timeout_s)
    keypad.start(checker.presses.put)
    steps = [Step("keypad", lambda: f"{settings.kind} keypad open")]
    steps.extend(checker.step(key, meaning) for key, meaning in keys)
    return steps, opened


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def checks_as_steps(checks: Iterable[tuple[str, bool, str]]) -> list[Step]:
    """A role's own hardware checks, already made, as the first steps of the shared self-test."""

    def outcome(passed: bool, detail: str) -> Callable[[], str | None]:
        def check() -> str | None:
            if not passed:
                raise StepFailed(detail)
            return detail

        return check

    return [Step(name, outcome(passed, detail)) for name, passed, detail in checks]


def run_selftest(
    config: AgentConfig, steps: list[Step], *, out: Callable[[str], None] = print, offline: bool = False,
    **options: Any,
) -> SelfTestReport:
    """For a `selftest` command that is not the running agent: start one, test, stop it.

    Stop the agent's service first (`systemctl stop hallwatch-kiosk`): both
    would log in with the same pinned id and take turns kicking each other off.
    `offline`: the device's own steps only, no broker login, no gateway.
    """
    if offline:
        lines = _Lines(config.device, out)
        lines.run(steps)
        return lines.conclude("offline: no broker login, no gateway round trip")
    try:
        agent = EdgeAgent(config)
    except Exception as exc:  # credentials or TLS files unreadable, the outbox cannot open
        lines = _Lines(config.device, out)
        lines.run(steps)
        lines.add(StepResult("hall broker", False, redact(_cannot_log_in(config, exc))[:500], 0))
        lines.add(NO_ROUND_TRIP)
        return lines.conclude()
    test = SelfTest(agent, steps, out=out, **options)
    agent.start()
    try:
        return test.run()
    finally:
        agent.stop()


NO_ROUND_TRIP = StepResult("gateway round trip", False, "not attempted without a broker login", 0)


def _cannot_log_in(config: AgentConfig, exc: Exception) -> str:
    broker = config.broker
    where = f"{broker.host}:{broker.port}"
    if isinstance(exc, OSError) and exc.filename:
        what = f"{exc.strerror or exc}: {exc.filename}"
    else:
        what = f"{type(exc).__name__}: {exc}"
    return (f"cannot log in to {where}: {what}; the device's password, certificate or data files are "
            "missing or unreadable: restore them or re-provision the device")
