"""A GSM modem without a modem: the AT commands of 3GPP TS 27.007 / 27.005 answered on a socat pty pair.

Gammu (`connection = at`) opens `host_path` as if it were /dev/ttyUSB2. The
simulator answers what Gammu's init sends (logged in `commands`; anything it
does not know is answered ERROR and kept in `unknown`), takes SMS-SUBMIT PDUs
with AT+CMGS, keeps a SIM message store for replies and status reports
(AT+CPMS, AT+CMGL, AT+CMGR, AT+CMGD), and honours AT+CNMI's <ds>: with 2, a
status report for every part that asked for one is stored for Gammu to read.

Faults a test can cause: `unplug()` / `plug_in()` (socat killed and restarted
on the same link names, as a USB modem pulled and put back), `unplug_at_pdu`
(pulled while a PDU is in flight, before the +CMGS answer), and
`silent_after_pdu` (takes the PDU and never answers anything again until
`power_cycle()`).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tests.sms.pdu import SHANGHAI, Submit, decode_submit, encode_deliver, encode_status_report, tpdu_length

SMSC = "+8613800931500"
SIM_SLOTS = 30


class AtModem:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.host_path = directory / "ttyHOST"
        self.modem_path = directory / "ttyMODEM"
        self.commands: list[str] = []
        self.unknown: list[str] = []
        self.accepted: list[Submit] = []
        """PDUs the modem answered with +CMGS: what went to the network."""
        self.received_pdus: list[str] = []
        """Every PDU written to the modem, answered or not."""
        self.storage: dict[int, tuple[int, str]] = {}
        self.cnmi = [0, 0, 0, 0, 0]
        self.echo = True
        self.pdu_mode = True
        self.reference = 0
        self.delivery_status = 0x00
        self.unplug_at_pdu: int | None = None
        self.silent_after_pdu: int | None = None
        self.silent = False
        self._lock = threading.RLock()
        self._fd: int | None = None
        self._socat: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._buffer = b""
        self._awaiting_pdu = False

    # --- plugging --------------------------------------------------------

    def start(self) -> AtModem:
        self.plug_in()
        self._thread = threading.Thread(target=self._serve, name="at-modem", daemon=True)
        self._thread.start()
        return self

    def plug_in(self) -> None:
        with self._lock:
            for path in (self.host_path, self.modem_path):
                path.unlink(missing_ok=True)
            self._socat = subprocess.Popen(
                ["socat", f"pty,raw,echo=0,link={self.modem_path}", f"pty,raw,echo=0,link={self.host_path}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while not (self.modem_path.exists() and self.host_path.exists()):
                if time.monotonic() > deadline:
                    raise RuntimeError("socat did not create the pty pair")
                self._stop.wait(0.01)
            self._fd = os.open(self.modem_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            self._buffer, self._awaiting_pdu = b"", False

    def unplug(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._socat is not None:
                self._socat.kill()
                self._socat.wait()
                self._socat = None
            # Gone, as a pulled USB modem's device node is: killed, socat leaves its links to
            # pseudo-terminals that another test's pair may be given next (a write error, not
            # "no such device").
            for path in (self.host_path, self.modem_path):
                path.unlink(missing_ok=True)

    def power_cycle(self) -> None:
        """A silent modem comes back (as after a USB reset)."""
        with self._lock:
            self.silent = False
            self.silent_after_pdu = None
            self._buffer, self._awaiting_pdu = b"", False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.unplug()

    # --- the network side ------------------------------------------------

    def deliver(self, sender: str, text: str) -> int:
        """A phone sends us a text: stored on the SIM as REC UNREAD."""
        with self._lock:
            return self._store(encode_deliver(sender, text, datetime.now(SHANGHAI), sca=SMSC))

    def texts_to(self, number: str) -> list[str]:
        """What the network delivered to `number`, each concatenated message joined in part order."""
        with self._lock:
            singles: list[str] = []
            groups: dict[int, dict[int, str]] = {}
            for submit in self.accepted:
                if submit.number.lstrip("+").removeprefix("86") != number:
                    continue
                if submit.concat is None:
                    singles.append(submit.text)
                else:
                    ref, _, part = submit.concat
                    groups.setdefault(ref, {})
                    assert part not in groups[ref], f"part {part} of message {ref} delivered twice"
                    groups[ref][part] = submit.text
            for ref, parts in groups.items():
                count = next(s.concat[1] for s in self.accepted if s.concat and s.concat[0] == ref)
                assert sorted(parts) == list(range(1, count + 1)), f"message {ref}: parts {sorted(parts)}"
                singles.append("".join(parts[i] for i in sorted(parts)))
            return singles

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or condition}")
            self._stop.wait(0.02)

    def _store(self, pdu: str) -> int:
        index = next(i for i in range(1, SIM_SLOTS + 1) if i not in self.storage)
        self.storage[index] = (0, pdu)
        return index

    # --- the serial side -------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            fd = self._fd
            if fd is None:
                self._stop.wait(0.02)
                continue
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(fd, 4096)
            except OSError:
                self._stop.wait(0.02)  # unplugged under us, or the host end is not open yet
                continue
            if not data:
                continue
            with self._lock:
                if self._fd != fd:
                    continue
                self._buffer += data
                self._process()

    def _write(self, text: str) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):  # pulled out under us
                os.write(self._fd, text.encode("ascii"))

    def _final(self, *lines: str) -> None:
        body = "".join(f"\r\n{line}\r\n" for line in lines)
        self._write(body + "\r\nOK\r\n")

    def _error(self, line: str) -> None:
        self.unknown.append(line)
        self._write("\r\nERROR\r\n")

    def _process(self) -> None:
        while self._fd is not None:
            if self.silent:
                self._buffer = b""
                return
            if self._awaiting_pdu:
                match = re.search(rb"[\x1a\x1b]", self._buffer)
                if match is None:
                    return
                pdu = self._buffer[:match.start()].decode("ascii").strip()
                terminator = self._buffer[match.start():match.end()]
                self._buffer = self._buffer[match.end():]
                self._awaiting_pdu = False
                if terminator == b"\x1a":
                    self._submit(pdu)
                else:
                    self._final()
                continue
            if b"\r" not in self._buffer:
                return
            raw, self._buffer = self._buffer.split(b"\r", 1)
            line = raw.decode("ascii", errors="replace").strip("\n")
            if self.echo:
                self._write(line + "\r")
            line = line.strip().lstrip("\x1b")
            if line:
                self.commands.append(line)
                self._command(line)

    def _submit(self, pdu: str) -> None:
        self.received_pdus.append(pdu)
        count = len(self.received_pdus)
        if self.unplug_at_pdu == count:
            self.unplug_at_pdu = None
            self.unplug()
            return
        if self.silent_after_pdu == count:
            self.silent = True
            return
        submit = decode_submit(pdu)
        self.reference = (self.reference + 1) % 256
        self.accepted.append(submit)
        self._final(f"+CMGS: {self.reference}")
        if submit.status_report_requested and self.cnmi[3] == 2:
            now = datetime.now(SHANGHAI)
            self._store(encode_status_report(self.reference, submit.number, self.delivery_status, now, now,
                                             sca=SMSC))

    def _command(self, line: str) -> None:  # noqa: C901 - one branch per AT command, as the spec lists them
        upper = line.upper()
        used = len(self.storage)
        simple = {
            "AT": (), "AT+CMEE=1": (), "AT+CFUN=1": (), "AT+CCWA=0": (), "AT+CUSD=0": (), "AT+CUSD=2": (),
            "AT+CHUP=?": (), "AT+CSCS?": ('+CSCS: "GSM"',), "AT+CSCS=?": ('+CSCS: ("GSM","UCS2","IRA")',),
            "AT+CGMI": ("SIMCOM_Ltd",), "AT+CGMM": ("SIMCOM_SIM800",),
            "AT+CGMR": ("Revision:1418B05SIM800L24",),
            "AT+CGSN": ("867856030000001",), "AT+CIMI": ("460001234567890",), "AT+CPIN?": ("+CPIN: READY",),
            "AT+CSQ": ("+CSQ: 20,0",), "AT+CSCA?": (f'+CSCA: "{SMSC}",145',), "AT+CMGF=?": ("+CMGF: (0,1)",),
            "AT+CSMS?": ("+CSMS: 0,1,1,1",), "AT+CPMS=?": ('+CPMS: ("SM"),("SM"),("SM")',),
            "AT+CNMI=?": ("+CNMI: (0-3),(0-3),(0-3),(0-2),(0,1)",),
        }
        if upper in simple:
            self._final(*simple[upper])
        elif upper in ("ATE0", "ATE1"):
            self.echo = upper == "ATE1"
            self._final()
        elif upper.startswith("AT+CSCS="):
            self._final()
        elif upper in ("AT+CMGF=0", "AT+CMGF=1"):
            self.pdu_mode = upper.endswith("0")
            self._final()
        elif upper == "AT+CMGF?":
            self._final(f"+CMGF: {0 if self.pdu_mode else 1}")
        elif upper.startswith("AT+CNMI="):
            self.cnmi = [int(v) if v else 0 for v in upper[8:].split(",")] + [0] * (5 - upper.count(",") - 1)
            self._final()
        elif upper == "AT+CNMI?":
            self._final("+CNMI: " + ",".join(map(str, self.cnmi)))
        elif upper.startswith("AT+CPMS="):
            self._final(f"+CPMS: {used},{SIM_SLOTS},{used},{SIM_SLOTS},{used},{SIM_SLOTS}")
        elif upper == "AT+CPMS?":
            self._final(f'+CPMS: "SM",{used},{SIM_SLOTS},"SM",{used},{SIM_SLOTS},"SM",{used},{SIM_SLOTS}')
        elif upper.startswith("AT+CMGS="):
            self._awaiting_pdu = True
            self._write("\r\n> ")
        elif upper in ("AT+CMGL=4", "AT+CMGL=1", "AT+CMGL=0"):
            wanted = int(upper[-1])
            lines: list[str] = []
            for index in sorted(self.storage):
                stat, pdu = self.storage[index]
                if wanted == 4 or stat == wanted:
                    lines += [f"+CMGL: {index},{stat},,{tpdu_length(pdu)}", pdu]
                    self.storage[index] = (1 if stat == 0 else stat, pdu)
            self._write("".join(f"\r\n{line}" for line in lines) + ("\r\n" if lines else "") + "\r\nOK\r\n")
        elif upper.startswith("AT+CMGR="):
            index = int(upper[8:])
            if index not in self.storage:
                self._write("\r\n+CMS ERROR: 321\r\n")
                return
            stat, pdu = self.storage[index]
            self.storage[index] = (1 if stat == 0 else stat, pdu)
            self._final(f"+CMGR: {stat},,{tpdu_length(pdu)}\r\n{pdu}")
        elif upper.startswith("AT+CMGD="):
            self.storage.pop(int(upper[8:].split(",")[0]), None)
            self._final()
        else:
            self._error(line)
