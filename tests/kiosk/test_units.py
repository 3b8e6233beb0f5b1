"""Pure parts of the kiosk: the number space, printer status decoding, GBK safety, the board estimate."""

from __future__ import annotations

import pytest

from contract.commands.queue import QueueBoard
from contract.events.queue import PrinterState
from edge.queue_kiosk.board import HallBoard, issued_today, people_ahead, unseen
from edge.queue_kiosk.lettering import Letterer, discover_fonts, gbk_bytes
from edge.queue_kiosk.numbering import NumberPlan
from edge.queue_kiosk.printer.status import decode, encode, is_status_byte
from edge.queue_kiosk.printer.stream import Kind, parse


def test_kiosk_slots_interleave_and_never_share_a_number() -> None:
    plans = [NumberPlan(slot, 3) for slot in (1, 2, 3)]
    numbers = [[plan.number(i) for i in range(200)] for plan in plans]
    assert numbers[0][:3] == [1, 4, 7] and numbers[1][:3] == [2, 5, 8] and numbers[2][:3] == [3, 6, 9]
    flat = [n for series in numbers for n in series]
    assert len(flat) == len(set(flat))
    assert all(plans[k].slot_of(n) == k + 1 for k, series in enumerate(numbers) for n in series)
    assert plans[1].index_of(5) == 1
    with pytest.raises(ValueError):
        plans[1].index_of(4)


def test_a_label_is_prefix_and_zero_padded_number_and_grows_past_the_width() -> None:
    plan = NumberPlan(1, 1, width=3)
    assert plan.label("A", 7) == "A007"
    assert plan.label("GC", 1234) == "GC1234"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, PrinterState.READY),
        ({"near_end": True}, PrinterState.NEAR_END),
        ({"paper_out": True}, PrinterState.PAPER_OUT),
        ({"cover_open": True}, PrinterState.COVER_OPEN),
        ({"cutter_error": True}, PrinterState.ERROR),
    ],
)
def test_dle_eot_replies_decode_to_one_verdict(state: dict, expected: PrinterState) -> None:
    assert decode(encode(**state)).state is expected  # type: ignore[arg-type]


def test_silence_or_garbage_is_offline_never_plenty_of_paper() -> None:
    replies = encode()
    assert decode({**replies, 4: None}).state is PrinterState.OFFLINE
    assert decode({**replies, 2: 0xFF}).state is PrinterState.OFFLINE
    assert not decode({}).printable
    assert all(is_status_byte(b) for b in encode(paper_out=True, cover_open=True).values())


def test_only_text_with_identical_gbk_and_gb18030_bytes_goes_out_as_text() -> None:
    assert gbk_bytes("社保医保 A001") == "社保医保 A001".encode("gbk")
    for risky in ("𠀾", "㐀", "¥", "€", "鿏"):  # Extension B, A, yen, euro, past U+9FA5
        assert gbk_bytes(f"张{risky}") is None
    assert gbk_bytes("￥") is not None  # the full-width yen is plain GBK


def test_a_character_no_font_has_is_drawn_as_a_box_not_guessed() -> None:
    letterer = Letterer(discover_fonts(None), 384)
    image = letterer.render("户籍𠀾")
    assert image.size[0] == 384 and image.getbbox() is not None


def test_the_stream_parser_finds_qr_data_images_and_cuts() -> None:
    qr = b"\x1d(k\x08\x001P0HW1|x"
    image = b"\x1dv0\x00\x01\x00\x02\x00\x10\x04"
    data = b"\x1b@\x1c&" + "社保\n".encode("gbk") + qr + image + b"\x10\x04\x01" + b"\x1dV\x00"
    tokens = parse(data)
    kinds = [t.kind for t in tokens]
    # The 0x10 0x04 inside the image is bitmap data, not a status query.
    assert kinds == [Kind.COMMAND, Kind.COMMAND, Kind.TEXT, Kind.QR, Kind.IMAGE, Kind.STATUS_QUERY, Kind.CUT]
    assert tokens[3].data == b"HW1|x"


def test_the_kiosk_adds_its_own_unseen_tickets_to_the_gateways_board() -> None:
    board = HallBoard.from_message(QueueBoard.model_validate(
        {"day": "2026-11-26", "at": 0, "services": {"A": {"waiting": 4, "waiting_priority": 1, "issued": 10,
                                                          "high": {"1": 9, "2": 10}}}}), received_ms=0)
    line = board.service("2026-11-26", "A")
    own = [(7, False), (9, False), (11, False), (13, True), (15, False)]  # slot 1 of 2
    assert unseen(own, line.high[1]) == 2  # 11 and 15; 13 was voided
    assert people_ahead(line, 2, priority=False) == 6
    assert people_ahead(line, 2, priority=True) == 1
    assert issued_today(line, own, slot=1) == 12
    assert board.service("2026-11-27", "A").waiting == 0  # yesterday's board says nothing of today
