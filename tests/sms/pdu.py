"""SMS PDUs as 3GPP TS 23.040 defines them, written independently of Gammu to check what it sends.

Decodes SMS-SUBMIT (what a modem is given by AT+CMGS) and encodes SMS-DELIVER
(a reply such as 退订) and SMS-STATUS-REPORT (a delivery report), each with the
service-centre address in front as AT+CMGL and AT+CMGR present them (TS 27.005).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


def _semi_octets(digits: str) -> bytes:
    padded = digits + ("F" if len(digits) % 2 else "")
    return bytes(int(padded[i + 1] + padded[i], 16) for i in range(0, len(padded), 2))


def _digits(octets: bytes, count: int) -> str:
    text = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in octets)
    return text[:count]


def _address(number: str) -> bytes:
    """Address field (9.1.2.5): digit count, type of address, semi-octets."""
    international = number.startswith("+")
    digits = number.lstrip("+")
    return bytes([len(digits), 0x91 if international else 0x81]) + _semi_octets(digits)


def _sca(number: str) -> bytes:
    """Service-centre address as in front of a PDU (TS 24.011): octet count, type, semi-octets."""
    body = bytes([0x91]) + _semi_octets(number.lstrip("+"))
    return bytes([len(body)]) + body


def _timestamp(when: datetime) -> bytes:
    """TP-SCTS (9.2.3.11): semi-octet YYMMDDhhmmss and the zone in quarter hours."""
    offset = when.utcoffset() or timedelta(0)
    quarters = int(offset.total_seconds() // 900)
    digits = when.strftime("%y%m%d%H%M%S") + f"{abs(quarters):02d}"
    octets = bytearray(_semi_octets(digits))
    if quarters < 0:
        octets[-1] |= 0x08
    return bytes(octets)


@dataclass(frozen=True)
class Submit:
    sca: str
    status_report_requested: bool
    reference: int
    number: str
    dcs: int
    concat: tuple[int, int, int] | None
    """(reference, parts, this part) from the concatenation header, if any."""
    text: str


def decode_submit(pdu_hex: str) -> Submit:
    data = bytes.fromhex(pdu_hex)
    sca_len = data[0]
    sca = _digits(data[2:1 + sca_len], (sca_len - 1) * 2).rstrip("F") if sca_len else ""
    pos = 1 + sca_len
    first = data[pos]
    assert first & 0x03 == 0x01, f"not an SMS-SUBMIT: first octet {first:02X}"
    udhi, srr, vpf = bool(first & 0x40), bool(first & 0x20), (first >> 3) & 0x03
    reference = data[pos + 1]
    digit_count, toa = data[pos + 2], data[pos + 3]
    octets = (digit_count + 1) // 2
    number = ("+" if toa == 0x91 else "") + _digits(data[pos + 4:pos + 4 + octets], digit_count)
    pos += 4 + octets
    dcs = data[pos + 1]
    pos += 2
    pos += {0: 0, 2: 1, 1: 7, 3: 7}[vpf]
    udl = data[pos]
    ud = data[pos + 1:]
    concat = None
    if udhi:
        udhl = ud[0]
        header = ud[1:1 + udhl]
        i = 0
        while i < len(header):
            iei, length = header[i], header[i + 1]
            if iei == 0x00:
                concat = (header[i + 2], header[i + 3], header[i + 4])
            i += 2 + length
        ud = ud[1 + udhl:udl]
    else:
        ud = ud[:udl]
    assert dcs & 0x0C == 0x08, f"not UCS-2: DCS {dcs:02X}"
    return Submit(sca, srr, reference, number, dcs, concat, ud.decode("utf-16-be"))


def encode_deliver(sender: str, text: str, when: datetime, *, sca: str = "+8613800931500") -> str:
    """An SMS-DELIVER in UCS-2, as a modem stores a received reply."""
    ud = text.encode("utf-16-be")
    tpdu = bytes([0x04]) + _address(sender) + bytes([0x00, 0x08]) + _timestamp(when) + bytes([len(ud)]) + ud
    return (_sca(sca) + tpdu).hex().upper()


def encode_status_report(reference: int, recipient: str, status: int, sent: datetime, done: datetime,
                         *, sca: str = "+8613800931500") -> str:
    """An SMS-STATUS-REPORT (9.2.2.3) for the part with TP-MR `reference`."""
    tpdu = (bytes([0x06, reference]) + _address(recipient) + _timestamp(sent) + _timestamp(done)
            + bytes([status]))
    return (_sca(sca) + tpdu).hex().upper()


def tpdu_length(pdu_hex: str) -> int:
    """The <length> AT+CMGS and +CMGL give: octets of the TPDU, without the SCA."""
    data = bytes.fromhex(pdu_hex)
    return len(data) - 1 - data[0]


SHANGHAI = timezone(timedelta(hours=8))
