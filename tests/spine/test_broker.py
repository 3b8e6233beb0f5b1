"""The Mosquitto the project starts (tests, demo, bench) really persists, as root and as anyone else."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port, render_config

# Runs in its own process so it can give up root before it starts the broker: the runner's
# own code path for an ordinary user, not a config written by hand.
AS_USER = """
import encodings.idna  # noqa: F401  (loaded now: the interpreter's files are root's alone)
import os, pwd, subprocess, sys
from pathlib import Path
from spine.broker.runner import BrokerOptions, MosquittoBroker, free_port

data, user = Path(sys.argv[1]), sys.argv[2]
if os.geteuid() == 0:
    account = pwd.getpwnam(user)
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)
broker = MosquittoBroker(BrokerOptions(free_port(), data))
broker.start()
try:
    subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-t", "hall/hall-01/probe",
                    "-m", "kept", "-r", "-q", "1"], check=True, timeout=10)
    broker.save()
    broker.kill()  # a crash: only what was saved comes back
    broker.start()
    got = subprocess.run(["mosquitto_sub", "-p", str(broker.port), "-t", "hall/hall-01/probe",
                          "-C", "1", "-W", "5"], capture_output=True, text=True, timeout=10)
    print(got.stdout.strip(), broker.persistence_path.exists(), flush=True)
finally:
    broker.kill()
"""


def retained_after_a_crash(data: Path, user: str) -> str:
    done = subprocess.run([sys.executable, "-c", AS_USER, str(data), user],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_broker_keeps_a_retained_message_across_a_crash(tmp_path: Path) -> None:
    """Whoever runs the tests (CI runs as root): the broker writes its file and reads it back."""
    data = tmp_path / "broker"
    assert retained_after_a_crash(data, pwd.getpwuid(os.geteuid()).pw_name) == "kept True"
    assert "Permission denied" not in (data / "mosquitto.log").read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving up root needs root; the test above runs as this user")
def test_the_broker_started_by_an_ordinary_user_persists_too() -> None:
    account = pwd.getpwnam("nobody")
    # Under /tmp, not pytest's tmp_path: root's pytest directories are closed to other users.
    data = Path(tempfile.mkdtemp(prefix="hallwatch-broker-")) / "broker"
    data.parent.chmod(0o755)
    data.mkdir()
    os.chown(data, account.pw_uid, account.pw_gid)
    try:
        assert retained_after_a_crash(data, "nobody") == "kept True"
        assert "Permission denied" not in (data / "mosquitto.log").read_text()
    finally:
        subprocess.run(["rm", "-rf", str(data.parent)], check=False)


def test_a_broker_that_cannot_write_its_directory_fails_loudly(tmp_path: Path) -> None:
    data = tmp_path / "broker"
    broker = MosquittoBroker(BrokerOptions(free_port(), data))
    broker.start()
    try:
        os.chmod(data, 0o500)
        if os.geteuid() == 0:
            # Root writes through any mode: take the file's place instead.
            os.chmod(data, 0o700)
            (data / "mosquitto.db.new").mkdir()
        with pytest.raises(RuntimeError, match="did not write"):
            broker.save(timeout=2)
    finally:
        os.chmod(data, 0o700)
        broker.kill()


def test_the_broker_bounds_its_queues_and_saves_with_its_traffic(tmp_path: Path) -> None:
    config = render_config(BrokerOptions(1883, tmp_path))
    assert "autosave_on_changes true" in config
    assert "max_queued_messages 0" not in config and "max_queued_bytes 0" not in config
    # The production broker (rendered by provisioning, run by systemd as its own user)
    # never says which user to be: only a broker the project starts itself does, as root.
    assert "\nuser " not in config
