"""The demo's simulated kiosks and window callers run against a real gateway."""

from __future__ import annotations

from pathlib import Path

from edge.hall_display.display import HallDisplay
from edge.queue_kiosk.demo import start_demo_queue
from edge.window_caller.demo import start_demo_callers
from spine.config import BrokerSettings
from tests.kiosk.conftest import HALL, Hall, display_config
from tests.support import wait_until


def test_the_demo_hall_issues_calls_and_serves(hall: Hall, tmp_path: Path) -> None:
    hall.start_gateway()
    lines: list[str] = []
    screen = HallDisplay(display_config(tmp_path, broker_port=hall.broker.port), show=lines.append)
    screen.start()
    broker = BrokerSettings(port=hall.broker.port)
    demo = start_demo_queue(broker, HALL, tmp_path / "demo", press_every_s=0.2)
    officers = start_demo_callers(broker, HALL, tmp_path / "demo", serve_s=0.2)
    try:
        wait_until(lambda: officers.served >= 3, 60, "three citizens served")
        summary = demo.summary()
        assert summary["tickets_printed"] >= 3 and summary["last_ticket"]
        tickets = hall.gateway_rows("SELECT day, ticket FROM queue_visits")
        assert len(tickets) == len(set(tickets))
        assert any("号窗口办理" in line for line in lines)  # the hall display shows the calls
    finally:
        officers.stop()
        demo.stop()
        screen.stop()
