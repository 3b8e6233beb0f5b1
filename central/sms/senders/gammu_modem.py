"""The modem side of the Gammu sender: a loop that runs in its own process and owns the modem.

Gammu calls block inside C: a modem that goes silent after the PDU hangs
`SendSMS` for about 99 s and `Terminate()` may never return. Running them in a
child process lets the parent (`senders.gammu.GammuSender`) put a deadline on
every answer and kill the process when it passes; the next request starts a
fresh one. Requests and answers are plain tuples over a `multiprocessing` pipe.

Requests: ("send", phone, units, first_unit, concat_ref, report, smsc), ("poll",), ("close",).
Every request is first answered ("ready", note) once the modem is connected (note: why replies and
reports cannot be read, or None), or ("error", text). Then, to "send": ("part", index, reference) per
accepted part and ("done",) or ("error", text); to "poll": ("items", [dict, ...]) or ("error", text).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)


def _error_text(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else {}
    if isinstance(detail, dict):
        return f"{type(exc).__name__}: {detail.get('Text', '')} (in {detail.get('Where', '?')})"
    return f"{type(exc).__name__}: {exc}"


def part_message(phone: str, unit: str, index: int, count: int, concat_ref: int, report: bool,
                 smsc: str | None) -> dict[str, Any]:
    """One SMS-SUBMIT for python-gammu: UCS-2, with the concatenation header when there are parts."""
    message: dict[str, Any] = {
        "Number": phone,
        "SMSC": {"Number": smsc} if smsc else {"Location": 1},
        "Coding": "Unicode_No_Compression",
        "Class": -1,
        "Text": unit,
        # Gammu asks for a status report (TP-SRR) when the PDU type is Status_Report.
        "Type": "Status_Report" if report else "Submit",
    }
    if count > 1:
        # TS 23.040 9.2.3.24.1: IEI 00 (8-bit reference), length 3, reference, parts, this part.
        header = bytes([5, 0, 3, concat_ref % 256, count, index + 1])
        message["UDH"] = {"Type": "ConcatenatedMessages", "Text": header, "ID8bit": concat_ref % 256,
                          "PartNumber": index + 1, "AllParts": count}
    return message


def _received_item(sms: dict[str, Any]) -> dict[str, Any] | None:
    kind = sms.get("Type") or sms.get("PDU")
    when = sms.get("DateTime")
    received_ms = int(when.timestamp() * 1000) if isinstance(when, datetime) else None
    if kind == "Status_Report":
        status = int(sms.get("DeliveryStatus", 0))
        return {"kind": "report", "reference": str(sms.get("MessageReference")),
                "phone": sms.get("Number", ""),
                # TP-Status (TS 23.040 9.2.3.15): 0x00-0x1F done, 0x20-0x3F still trying, above: given up.
                "delivered": status < 0x20, "final": not 0x20 <= status < 0x40,
                "status": f"0x{status:02X} {sms.get('Text', '')}".strip()}
    if kind == "Deliver":
        return {"kind": "sms", "phone": sms.get("Number", ""), "text": sms.get("Text", ""),
                "received_ms": received_ms}
    return None


class _Modem:
    def __init__(self, gammurc: str, section: int) -> None:
        self.gammurc = gammurc
        self.section = section
        self.machine: Any = None
        self.note: str | None = None

    def connect(self) -> Any:
        if self.machine is None:
            import gammu  # the package imports without python-gammu; only this process needs it

            machine = gammu.StateMachine()
            # ReadConfig, not SetConfig: SetConfig leaves the CNMI parameters at 0, and then
            # incoming SMS and status reports fail with ERR_NOTSUPPORTED.
            machine.ReadConfig(Section=self.section, Filename=self.gammurc)
            machine.Init()
            self.note = None
            try:
                machine.SetIncomingSMS(True)  # AT+CNMI from atgen_setcnmi: store replies and reports
            except Exception as exc:  # noqa: BLE001 - a modem without CNMI still sends
                self.note = (f"the modem does not store replies and reports ({_error_text(exc)}): "
                             "opt-outs by reply are not seen; set atgen_setcnmi = 2,1,2,2,0 in the gammurc")
            self.machine = machine
        return self.machine

    def ready(self, conn: Connection) -> Any:
        """Connect (if not yet) and say so, so the parent times the connection apart from the send."""
        try:
            machine = self.connect()
        except Exception as exc:  # noqa: BLE001
            self.drop()
            conn.send(("error", _error_text(exc)))
            return None
        conn.send(("ready", self.note))
        return machine

    def drop(self) -> None:
        machine, self.machine = self.machine, None
        if machine is not None:
            with contextlib.suppress(Exception):  # the port may be gone already
                machine.Terminate()

    def send(self, conn: Connection, phone: str, units: list[str], first_unit: int, concat_ref: int,
             report: bool, smsc: str | None) -> None:
        machine = self.ready(conn)
        if machine is None:
            return
        try:
            for index in range(first_unit, len(units)):
                message = part_message(phone, units[index], index, len(units), concat_ref, report, smsc)
                reference = machine.SendSMS(message)
                conn.send(("part", index, str(reference)))
        except Exception as exc:  # noqa: BLE001 - every gammu error is reported to the parent
            self.drop()
            conn.send(("error", _error_text(exc)))
            return
        conn.send(("done",))

    def poll(self, conn: Connection) -> None:
        import gammu

        machine = self.ready(conn)
        if machine is None:
            return
        try:
            found: list[dict[str, Any]] = []
            start = True
            while True:
                try:
                    batch = machine.GetNextSMS(Folder=0, Start=start) if start else \
                        machine.GetNextSMS(Folder=0, Location=found[-1]["Location"])
                except gammu.ERR_EMPTY:
                    break
                start = False
                found.extend(batch)
            items = [item for item in (_received_item(sms) for sms in found) if item is not None]
            for sms in found:
                # Deleted only once read: a crash in between reads them again, which is harmless
                # (an opt-out or a report recorded twice changes nothing).
                machine.DeleteSMS(Folder=sms.get("Folder", 0), Location=sms["Location"])
        except Exception as exc:  # noqa: BLE001
            self.drop()
            conn.send(("error", _error_text(exc)))
            return
        conn.send(("items", items))


def serve(conn: Connection, gammurc: str, section: int) -> None:
    """The child process: answer requests until "close" or the parent goes away."""
    modem = _Modem(gammurc, section)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        if request[0] == "send":
            _, phone, units, first_unit, concat_ref, report, smsc = request
            modem.send(conn, phone, units, first_unit, concat_ref, report, smsc)
        elif request[0] == "poll":
            modem.poll(conn)
        elif request[0] == "close":
            break
    modem.drop()
