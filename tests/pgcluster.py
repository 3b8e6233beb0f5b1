"""A throwaway PostgreSQL 15 cluster for the tests and the benchmarks: Debian's binaries, a
temporary directory, a free port on 127.0.0.1, stopped and removed when done.

initdb and pg_ctl refuse to run as root, and CI runs as root: then they run as the
`postgres` user (`runuser`), in a directory that user owns. Each test that needs a
database gets a fresh one (`PgCluster.new_database`), so tests share the cluster
but never each other's rows. Without the binaries, such tests skip and say why
(the pytest fixtures are in `tests.pg`); a benchmark starts its own cluster with
`throwaway_cluster(durable=True)`, so PostgreSQL flushes its commits as SQLite does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from spine.broker.runner import free_port
from spine.storeurl import StoreUrl

BIN = Path(os.environ.get("HALLWATCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "hall"
RUN_AS = "postgres"
"""Who runs the cluster when the tests run as root."""


def missing() -> str | None:
    """Why no cluster can be started here (None: it can)."""
    for tool in ("initdb", "pg_ctl"):
        if not (BIN / tool).exists():
            return f"PostgreSQL 15 is not installed ({BIN / tool} missing; apt-get install postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root needs runuser to start PostgreSQL as the postgres user"
    return None


@dataclass
class PgCluster:
    root: Path
    port: int
    durable: bool = False
    """fsync on, as in production (a benchmark); off for tests, whose cluster dies with its directory."""

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> None:
        command = [str(BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", RUN_AS, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, RUN_AS)
            self.root.chmod(0o755)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
                  "--no-sync")
        # fsync off for tests: their cluster dies with its directory; durability is not what they test.
        fsync = "on" if self.durable else "off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync={fsync}",
                  "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def start_again(self) -> None:
        """The same data directory started again after `stop` (`start` would make a new one)."""
        fsync = "on" if self.durable else "off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync={fsync}",
                  "start")

    def terminate_backends(self, database: str) -> int:
        """End every connection to `database`, as an operator or a failover would; how many."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as admin:
            return len(admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                " AND pid <> pg_backend_pid()", (database,)).fetchall())

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> StoreUrl:
        return StoreUrl.parse(f"postgresql://{user}@127.0.0.1:{self.port}/{database}")

    def admin(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE DATABASE, CREATE ROLE, GRANT)."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database,
                             autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def new_database(self) -> StoreUrl:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[PgCluster]:
    """A running cluster in a fresh temporary directory, stopped and removed on the way out."""
    reason = missing()
    if reason:
        raise RuntimeError(reason)
    # Not under pytest's tmp_path: its parents are private to root, and the cluster runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="hallwatch-pg-"))
    cluster = PgCluster(root, free_port(), durable)
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        log = root / "log"
        detail = exc.stderr.decode(errors="replace") if exc.stderr else ""
        message = f"could not start a throwaway PostgreSQL: {detail}{log.read_text() if log.exists() else ''}"
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(message) from exc
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
