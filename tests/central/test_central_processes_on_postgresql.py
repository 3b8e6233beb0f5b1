"""Two `hall central run` processes over one PostgreSQL, one killed -9 in the middle of ingest:
every event of the hall stored once, in its device's order.

Both processes subscribe to the halls' streams (a hand-over: the new process is up before
the old one is gone), so each batch reaches both; the hall's advisory lock
(`central.hall_lock`) lets one store it and makes it a duplicate for the other. The kill
rolls back whatever the killed process had not committed, and the server releases its lock
with its connection; the other process goes on.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from spine.broker.runner import MosquittoBroker
from spine.engines import open_engine
from spine.storeurl import StoreUrl
from tests.central.stores import migrated
from tests.support import wait_until
from tests.support.configs import HallLayout
from tests.support.processes import HallProcess

EVENTS = 1500


def central_toml(layout: HallLayout, name: str, url: StoreUrl) -> Path:
    """A central process's configuration: its own id (its own MQTT session), its own data
    directory (the case engine's and supervision's SQLite files), the shared event store."""
    path = layout.root / f"{name}.toml"
    path.write_text(
        f'id = "{name}"\n'
        f'data_dir = "{layout.root}/{name}"\n'
        f"[broker]\nport = {layout.broker_port}\n"
        f'[http]\nhost = "127.0.0.1"\nport = 0\n'
        f'[ingest]\nhalls = [{{hall = "{layout.hall}", gateway = "{layout.gateway}"}}]\n'
        # The throwaway cluster trusts its user: no password file.
        f'[database]\nurl = "{url.secret_url()}"\n'
    )
    return path


def stored_counters(url: StoreUrl) -> list[tuple[int, int]]:
    """(seq, body.n) of the device's counters in the log's order."""
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            return [(int(seq), int(n)) for seq, n in connection.execute(text(
                "SELECT seq, (payload::json -> 'body' ->> 'n')::int FROM events "
                "WHERE device = 'sim-01' AND type = 'sim.counter' ORDER BY id")).fetchall()]
    finally:
        engine.dispose()


def test_a_central_process_killed_mid_ingest_loses_and_doubles_nothing_the_other_goes_on(
        tmp_path: Path, broker: MosquittoBroker, pg_database: StoreUrl) -> None:
    url = migrated(pg_database)
    layout = HallLayout(tmp_path, broker.port)
    started: list[HallProcess] = []
    try:
        centrals = [HallProcess(name, ["central", "run", "--config", str(central_toml(layout, name, url))],
                                tmp_path).start() for name in ("central-a", "central-b")]
        started.extend(centrals)
        started.append(HallProcess(
            "gateway", ["gateway", "run", "--config", str(layout.gateway_config(["sim-01"]))], tmp_path
        ).start())
        started.append(HallProcess("sim-01", [
            "device", "simulate", "--config", str(layout.device("sim-01")), "--events", str(EVENTS),
            "--rate", "300"], tmp_path).start())

        wait_until(lambda: len(stored_counters(url)) > EVENTS // 4, 90,
                   "central to store a quarter of the burst")
        centrals[0].kill()
        assert centrals[1].running(), centrals[1].log()[-2000:]

        wait_until(lambda: len(stored_counters(url)) >= EVENTS, 120,
                   f"the other central process to store all {EVENTS} events")
        rows = stored_counters(url)
        numbers = [n for _seq, n in rows]
        assert numbers == list(range(1, EVENTS + 1))  # none lost, none doubled, in the device's order
        assert all(seq == n for seq, n in rows)
    finally:
        for process in started:
            process.kill()
