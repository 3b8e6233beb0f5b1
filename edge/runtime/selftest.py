"""The self-test every device runs before it counts: its own checks, then the round trip to the gateway.

Each agent (kiosk, rating terminal, recorder) brings its hardware checks as
`Step`s; this runner adds what every device shares and reports the lot:

    steps = [Step("printer", print_test_ticket), Step("paper", check_paper)]
    report = SelfTest(agent, steps).run()          # the agent's uplink already started
    # or, from a `hall kiosk selftest` command that owns the agent:
    report = run_selftest(config, steps, out=click.echo)
    sys.exit(0 if report.passed else 1)

A check returns what it saw ("test ticket printed, 58 mm") or raises
`StepFailed` with what is wrong and what to do ("no paper: load a roll").
Any other exception fails the step with its message. After the device's own
steps: the broker login, then a `device.selftest` event that must come back
acknowledged by the gateway, which answers with the device's new state
(`active` after a pass) on the device's command topic.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from contract.commands.provisioning import SelftestResult
from contract.privacy import redact
from edge.runtime.agent import AgentConfig, EdgeAgent
from spine.mqtt import reason_text

log = logging.getLogger(__name__)



class StepFailed(Exception):
    """Raised by a check: the message is the plain reason a technician reads."""


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

    def line(self) -> str:
        return f"[{'ok' if self.passed else 'FAILED'}] {self.name}: {self.reason}"


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
    return StepResult(step.name, True, redact(str(outcome.get("seen") or "ok"))[:500], took)


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
        identity = self.agent.identity
        report = SelfTestReport(identity.id, identity.kind)
        self.out(f"self-test of {identity.id} ({identity.kind}, hall {identity.hall})")
        for step in self.steps:
            self._add(report, run_step(step))
        self._add(report, self._broker_login())
        self._round_trip(report)
        if report.passed:
            self.out(f"PASSED: {identity.id} is {report.gateway_state} at the gateway")
        else:
            self.out(f"FAILED: {len(report.failures())} step(s) failed; {identity.id} is "
                     f"{report.gateway_state or 'unchanged'} at the gateway")
        return report

    def _add(self, report: SelfTestReport, result: StepResult) -> None:
        report.steps.append(result)
        self.out(result.line())

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

    def _round_trip(self, report: SelfTestReport) -> None:
        """Record the result; the gateway's acknowledgement and answer prove the round trip."""
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
            self._add(report, StepResult("gateway round trip", False, "not attempted without a broker login",
                                         0))
            return
        if not self.agent.uplink.wait_drained(self.gateway_timeout_s):
            reason = (f"the gateway did not acknowledge within {self.gateway_timeout_s:.0f} s: is the "
                      "gateway service running? (the result is kept and sent later)")
            self._add(report, StepResult("gateway round trip", False, reason, _ms(started)))
            return
        if not self._watch.answered.wait(max(1.0, self.gateway_timeout_s - (time.monotonic() - started))):
            self._add(report, StepResult("gateway round trip", False,
                                         "the gateway stored the result but did not answer", _ms(started)))
            return
        verdict = self._watch.verdict
        report.gateway_state = str(verdict.state) if verdict is not None else "None"
        self._add(report, StepResult("gateway round trip", True,
                                     f"gateway stored the result and answered: {report.gateway_state}",
                                     _ms(started)))


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
    config: AgentConfig, steps: list[Step], *, out: Callable[[str], None] = print, **options: Any
) -> SelfTestReport:
    """For a `selftest` command that is not the running agent: start one, test, stop it.

    Stop the agent's service first (`systemctl stop hallwatch-kiosk`): both
    would log in with the same pinned id and take turns kicking each other off.
    """
    agent = EdgeAgent(config)
    test = SelfTest(agent, steps, out=out, **options)
    agent.start()
    try:
        return test.run()
    finally:
        agent.stop()
