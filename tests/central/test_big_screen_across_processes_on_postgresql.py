"""Two `hall central run` processes over one PostgreSQL: one receives the hall (its broker has the
hall's gateway), the other only serves HTTP, as an API process behind a load balancer (its broker
has no hall). A device coming online at the first, and a complaint accepted through the first's
API, reach the big screen's event stream served by the second (LISTEN/NOTIFY,
`central.web.notify_feed`), and its board reads what the first stored.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port
from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.support import wait_until
from tests.support.configs import HallLayout
from tests.support.processes import HallProcess

SUPERVISOR = "supervisor-token-for-the-test"


def central_toml(layout: HallLayout, name: str, broker_port: int, url: StoreUrl) -> Path:
    """A central process: its own id and data directory, its broker, the shared database."""
    path = layout.root / f"{name}.toml"
    path.write_text(
        f'id = "{name}"\n'
        f'data_dir = "{layout.root}/{name}"\n'
        f"[broker]\nport = {broker_port}\n"
        f'[http]\nhost = "127.0.0.1"\nport = 0\n'
        f'[ingest]\nhalls = [{{hall = "{layout.hall}", gateway = "{layout.gateway}"}}]\n'
        f'[web]\npublic_screen = true\ntick_s = 1\n'
        f'users = [{{name = "office", role = "supervisor", token = "{SUPERVISOR}"}}]\n'
        f'[database]\nurl = "{url.secret_url()}"\n'  # the throwaway cluster trusts its user
    )
    return path


def base_url(process: HallProcess) -> str:
    found = wait_until(lambda: re.search(r"central HTTP on (http://\S+)", process.log()), 60,
                       f"{process.name} to serve HTTP")
    assert found is not None
    return found.group(1)


class ScreenStream:
    """The big screen's `/api/stream`, read on a thread: every event it sent, parsed."""

    def __init__(self, url: str) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._client = httpx.Client(base_url=url, timeout=httpx.Timeout(5, read=60))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        kind = ""
        try:
            with self._client.stream("GET", "/api/stream") as answer:
                for line in answer.iter_lines():
                    if line.startswith("event: "):
                        kind = line[len("event: "):]
                    elif line.startswith("data: "):
                        self.events.append((kind, json.loads(line[len("data: "):])))
        except httpx.HTTPError:
            pass  # closed by the test

    def changes(self) -> list[dict[str, Any]]:
        return [data for kind, data in list(self.events) if kind == "change"]

    def happenings(self) -> list[dict[str, Any]]:
        return [h for change in self.changes() for h in change["happenings"]]

    def close(self) -> None:
        self._client.close()


@pytest.fixture
def quiet_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """The API process's broker: no gateway publishes there."""
    instance = MosquittoBroker(BrokerOptions(free_port(), tmp_path / "quiet-broker"))
    instance.start()
    yield instance
    instance.kill()


def test_a_change_stored_by_one_central_process_reaches_the_big_screen_served_by_another(
        tmp_path: Path, broker: MosquittoBroker, quiet_broker: MosquittoBroker, pg_database: StoreUrl
) -> None:
    url = migrated(pg_database)
    layout = HallLayout(tmp_path, broker.port)
    started: list[HallProcess] = []
    stream: ScreenStream | None = None
    try:
        ingest = HallProcess("central-ingest", ["central", "run", "--config", str(
            central_toml(layout, "central-ingest", broker.port, url))], tmp_path).start()
        api = HallProcess("central-api", ["central", "run", "--config", str(
            central_toml(layout, "central-api", quiet_broker.port, url))], tmp_path).start()
        started += [ingest, api]
        ingest_url, api_url = base_url(ingest), base_url(api)
        stream = ScreenStream(api_url)
        wait_until(lambda: stream is not None and stream.events[:1] and stream.events[0][0] == "hello", 30,
                   "the API process's stream to say hello")
        assert stream.changes() == []

        # A device comes online at the ingest process: the API process's screen is told.
        started.append(HallProcess(
            "gateway", ["gateway", "run", "--config", str(layout.gateway_config(["sim-01"]))], tmp_path
        ).start())
        started.append(HallProcess("sim-01", [
            "device", "simulate", "--config", str(layout.device("sim-01")), "--events", "5",
            "--rate", "5"], tmp_path).start())
        wait_until(stream.changes, 90, "a change at the API process's screen after the hall's batches")
        with httpx.Client(base_url=api_url, timeout=10) as reader:
            wait_until(lambda: any(d["device"] == "sim-01" and d["online"] for d in reader.get(
                "/api/halls/hall-01").json().get("devices", [])), 30,
                "the API process to read the device online from the shared database")

        # A complaint accepted through the ingest process's API: announced at the other's screen.
        with httpx.Client(base_url=ingest_url, timeout=30,
                          headers={"Authorization": f"Bearer {SUPERVISOR}"}) as office:
            accepted = office.post("/api/complaints", json={
                "hall": "hall-01", "summary": "窗口未按叫号顺序办理", "channel": "phone"})
            assert accepted.status_code == 201, accepted.text
            complaint = accepted.json()["id"]
        told = wait_until(lambda: [h for h in stream.happenings() if h.get("id") == complaint], 30,
                          "the complaint to reach the API process's screen")
        assert told == [{"version": told[0]["version"], "kind": "complaint", "id": complaint,
                         "hall": "hall-01"}]  # once
        assert ingest.running() and api.running()
    finally:
        if stream is not None:
            stream.close()
        for process in reversed(started):
            process.stop()
