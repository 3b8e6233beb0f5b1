"""Simulated window officers for `hall demo`: each logs in, calls, serves, sometimes recalls or transfers.

The lead's demo calls `start_demo_callers(broker, hall, data_dir)` once the
hall's gateway runs (with `demo_caller_devices()` among its known devices, or
open enrolment), next to the kiosks of `edge.queue_kiosk.demo`, and `.stop()`
at the end; `.summary()` says how many citizens were served.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.runtime.demo import agent_sections
from edge.window_caller.caller import WindowCaller
from edge.window_caller.config import CallerConfig
from spine.config import BrokerSettings

TRANSFER_KEYS = {"1": "A", "2": "B", "3": "C"}
"""Transfer keys of the demo hall's services (the kiosks' demo offers A, B, C and G)."""


def demo_caller_devices(windows: int = 3) -> list[dict[str, Any]]:
    """Entries for the gateway's `[devices] known` list: one caller per window."""
    return [{"id": f"caller-{w}", "kind": "caller", "window": str(w)} for w in range(1, windows + 1)]


@dataclass
class DemoCallers:
    callers: list[WindowCaller]
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    served: int = 0
    no_shows: int = 0
    served_at: dict[str, int] = field(default_factory=dict)
    """Window -> citizens served there: a window that stops counting is a stuck window..."""
    idle_at: dict[str, int] = field(default_factory=dict)
    """... unless it is idle: window -> times its officer found nobody waiting for it, with
    nothing left at the window (a stuck window holds a visit it cannot finish)."""

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=10)
        for caller in self.callers:
            caller.stop()

    def summary(self) -> dict[str, Any]:
        return {"served": self.served, "no_shows": self.no_shows, "served_by_window": dict(self.served_at)}

    def count_served(self, window: str) -> None:
        self.served += 1
        self.served_at[window] = self.served_at.get(window, 0) + 1

    def count_idle(self, window: str) -> None:
        self.idle_at[window] = self.idle_at.get(window, 0) + 1


def start_demo_callers(broker: BrokerSettings, hall: str, data_dir: Path, *, windows: int = 3,
                       serve_s: float = 4.0, seed: int = 1) -> DemoCallers:
    """Start a caller per window, each with an officer acting on its own thread."""
    demo = DemoCallers([])
    for w in range(1, windows + 1):
        caller = WindowCaller(CallerConfig.model_validate({
            **agent_sections(broker, hall, f"caller-{w}", "caller", data_dir),
            "caller": {"window": str(w), "transfer_keys": TRANSFER_KEYS},
        }))
        caller.start()
        demo.callers.append(caller)
    for w, caller in enumerate(demo.callers, start=1):
        demo.threads.append(threading.Thread(
            target=_officer, args=(demo, caller, f"{100 + w}", random.Random(seed + w), serve_s),
            name=f"demo-window-{w}", daemon=True))
    for thread in demo.threads:
        thread.start()
    return demo


def _officer(demo: DemoCallers, caller: WindowCaller, officer: str, rng: random.Random,
             serve_s: float) -> None:
    """An officer logs in, then calls, serves and sometimes recalls, parks or transfers."""
    def act(*keys: str) -> dict[str, Any] | None:
        request = None
        for key in keys:
            request = caller.key(key)
        return caller.wait_reply(request, 10) if request else None

    while not demo.stop_event.is_set() and not (act(*officer, "login") or {}).get("ok"):
        demo.stop_event.wait(2)
    # A visit takes about serve_s; a breath between two citizens a tenth of it; with nobody
    # waiting, the officer looks again every fifth or so. The first citizen is called at once.
    pause = 0.0
    while not demo.stop_event.wait(pause):
        pause = rng.uniform(0.05, 0.15) * serve_s
        if caller.current is not None and (act("complete") or {}).get("ok"):
            # A visit still at the window (a refused step, a reply lost with the gateway):
            # a real officer finishes it before calling the next citizen.
            demo.count_served(caller.window)
            continue
        reply = act("call_next") or {}
        if not reply.get("ok"):
            if reply and reply.get("current") is None:
                demo.count_idle(caller.window)
            pause = rng.uniform(0.1, 0.3) * serve_s
            continue
        roll = rng.random()
        if roll < 0.1:
            act("recall")
            demo.stop_event.wait(serve_s / 2)
            act("no_show")
            demo.no_shows += 1
            continue
        if roll < 0.2:
            phone = "13" + "".join(str(rng.randrange(10)) for _ in range(9))
            act(*phone, "enter")  # the caller shows and logs it masked
        if roll > 0.95:
            here = (reply.get("current") or {}).get("service")
            elsewhere = [key for key, service in TRANSFER_KEYS.items() if service != here]
            if elsewhere and (act(rng.choice(elsewhere), "transfer") or {}).get("ok"):
                continue
        demo.stop_event.wait(rng.uniform(0.5, 1.5) * serve_s)
        if (act("complete") or {}).get("ok"):
            demo.count_served(caller.window)
