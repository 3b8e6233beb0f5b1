"""The demo's simulated kiosks and window callers run against a real gateway."""

from __future__ import annotations

from pathlib import Path

from edge.queue_kiosk.demo import start_demo_queue
from edge.queue_kiosk.display import CallDisplay
from spine.config import BrokerSettings
from tests.kiosk.conftest import HALL, Hall
from tests.support import wait_until


def test_the_demo_hall_issues_calls_and_serves(hall: Hall, tmp_path: Path) -> None:
    hall.start_gateway()
    lines: list[str] = []
    screen = CallDisplay(BrokerSettings(port=hall.broker.port), HALL, "display-1", show=lines.append)
    screen.start()
    demo = start_demo_queue(BrokerSettings(port=hall.broker.port), HALL, tmp_path / "demo",
                            press_every_s=0.2, serve_s=0.2)
    try:
        wait_until(lambda: demo.served >= 3, 60, "three citizens served")
        summary = demo.summary()
        assert summary["tickets_printed"] >= 3 and summary["last_ticket"]
        tickets = hall.gateway_rows("SELECT day, ticket FROM queue_visits")
        assert len(tickets) == len(set(tickets))
        assert any("号窗口办理" in line for line in lines)  # the hall display shows the calls
    finally:
        demo.stop()
        screen.stop()
