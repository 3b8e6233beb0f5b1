"""The framed serial protocol `FF 68 LEN LEN 68 ADDR FUNC DATA CS 16` over a socat pty pair."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import serial

from edge.runtime.hardware.factory import build_keypad
from edge.runtime.hardware.framed_serial import BadFrame, Frame, FramedSerialKeypad, FrameParser, encode_frame
from edge.runtime.hardware.keys import KeyEvent, KeyEventKind, KeyPress
from edge.runtime.hardware.prompt import Prompt, Showing
from edge.runtime.hardware.settings import FramedSerialKeypadSettings
from tests.keypad.serial_parts import FramedEvaluator, PtyPair, wait_until


def test_a_frame_is_encoded_with_its_length_twice_and_checksum() -> None:
    # ADDR 0x03, FUNC 0x01, DATA [0x02]: LEN = 3, CS = 3 + 1 + 2 = 6
    assert encode_frame(0x03, 0x01, b"\x02").hex(" ") == "ff 68 03 03 68 03 01 02 06 16"
    assert encode_frame(0xFF, 0xFF, b"\xff\x03")[-2] == (0xFF + 0xFF + 0xFF + 0x03) % 256


def test_the_parser_finds_frames_in_noise_split_reads_and_rejects_bad_checksums() -> None:
    parser = FrameParser()
    good = encode_frame(3, 1, b"\x05")
    corrupt = bytearray(encode_frame(3, 1, b"\x04"))
    corrupt[-2] ^= 0x55
    stream = b"\x00\x12" + good[:4] + b"" + good[4:] + bytes(corrupt) + good[1:]  # last has no preamble
    items = [item for i in range(len(stream)) for item in parser.feed(stream[i:i + 1])]
    frames = [item for item in items if isinstance(item, Frame)]
    bad = [item for item in items if isinstance(item, BadFrame)]
    assert frames == [Frame(3, 1, b"\x05"), Frame(3, 1, b"\x05")]
    assert [b.reason for b in bad] == ["noise", "checksum"]


class Evaluator:
    """The device end: sends key frames, reads the host's echoes."""

    def __init__(self, port: str) -> None:
        self.line = serial.Serial(port, 9600, timeout=2)

    def key(self, code: int, address: int = 3) -> bytes:
        frame = encode_frame(address, 0x01, bytes([code]))
        self.line.write(frame)
        return frame

    def echo(self, size: int) -> bytes:
        return self.line.read(size)


@pytest.fixture
def evaluator(pty_pair: PtyPair) -> Iterator[Evaluator]:
    device = Evaluator(pty_pair.b)
    yield device
    device.line.close()


@pytest.fixture
def keypad(pty_pair: PtyPair) -> Iterator[tuple[FramedSerialKeypad, list[KeyPress], list[KeyEvent]]]:
    settings = FramedSerialKeypadSettings(kind="framed_serial", port=pty_pair.a, address=3,
                                          keys={1: "1", 2: "2", 5: "5", 9: "please_rate"},
                                          reopen_s=0.1)
    pad = build_keypad(settings)
    assert isinstance(pad, FramedSerialKeypad)
    presses: list[KeyPress] = []
    events: list[KeyEvent] = []
    pad.on_event(events.append)
    pad.start(presses.append)
    yield pad, presses, events
    pad.stop()


def test_each_key_frame_is_one_press_and_echoed_as_the_ack(keypad, evaluator) -> None:  # type: ignore[no-untyped-def]
    pad, presses, _ = keypad
    sent = evaluator.key(2)
    assert evaluator.echo(len(sent)) == sent
    sent = evaluator.key(9)
    assert evaluator.echo(len(sent)) == sent
    wait_until(lambda: len(presses) == 2, what="two presses")
    assert [p.key for p in presses] == ["2", "please_rate"]


def test_a_retransmitted_frame_is_a_repeat_not_a_second_press(keypad, evaluator) -> None:  # type: ignore[no-untyped-def]
    _, presses, events = keypad
    sent = evaluator.key(5)
    evaluator.echo(len(sent))
    evaluator.key(5)  # the device missed our echo and sends it again
    evaluator.echo(len(sent))
    wait_until(lambda: any(e.kind == KeyEventKind.REPEAT for e in events), what="repeat reported")
    assert [p.key for p in presses] == ["5"]


def test_a_bad_checksum_is_not_acknowledged_and_never_a_press(keypad, evaluator) -> None:  # type: ignore[no-untyped-def]
    _, presses, events = keypad
    corrupt = bytearray(encode_frame(3, 1, b"\x01"))
    corrupt[-2] ^= 0xFF
    evaluator.line.write(bytes(corrupt))
    wait_until(lambda: any(e.kind == KeyEventKind.BAD_FRAME for e in events), what="bad frame")
    evaluator.line.timeout = 0.3
    assert evaluator.echo(10) == b""
    sent = evaluator.key(1)  # the device retries, correctly this time
    assert evaluator.echo(len(sent)) == sent
    wait_until(lambda: presses, what="the retried press")
    assert [p.key for p in presses] == ["1"]


def test_frames_of_other_addresses_and_unknown_codes_make_no_press(keypad, evaluator) -> None:  # type: ignore[no-untyped-def]
    _, presses, events = keypad
    evaluator.key(1, address=4)
    sent = evaluator.key(7)
    assert evaluator.echo(len(sent)) == sent  # only our own frame was echoed
    wait_until(lambda: any(e.kind == KeyEventKind.UNKNOWN_KEY for e in events), what="unknown code")
    assert presses == []


def test_a_pulled_adapter_is_one_fault_and_the_port_is_reopened(keypad, pty_pair) -> None:  # type: ignore[no-untyped-def]
    pad, presses, events = keypad
    pty_pair.stop()
    wait_until(lambda: not pad.healthy(), what="fault")
    pty_pair.start()
    wait_until(pad.healthy, what="reopened")
    device = Evaluator(pty_pair.b)
    try:
        sent = device.key(2)
        assert device.echo(len(sent)) == sent
        wait_until(lambda: presses, what="press after reopening")
    finally:
        device.line.close()
    assert [e.kind for e in events if e.kind in (KeyEventKind.FAULT, KeyEventKind.RECOVERED)] == [
        KeyEventKind.FAULT, KeyEventKind.RECOVERED]


@pytest.fixture
def screen(pty_pair: PtyPair) -> Iterator[FramedEvaluator]:
    device = FramedEvaluator(pty_pair.b)
    yield device
    device.close()


def test_a_prompt_reaches_the_evaluator_once_when_it_echoes(keypad, screen) -> None:  # type: ignore[no-untyped-def]
    pad, presses, events = keypad
    pad.show(Showing(Prompt.PLEASE_RATE, 10))
    wait_until(lambda: screen.prompts == [(1, 10)], what="please rate, 10 s")
    screen.echo_preamble = False  # an echo without the preamble is an echo all the same
    pad.show(Showing(Prompt.REASONS, 15))
    wait_until(lambda: screen.prompts == [(1, 10), (2, 15)], what="the reason menu")
    sent = screen.key(2)
    wait_until(lambda: presses, what="a press")
    wait_until(lambda: screen.echoes == [sent], what="the key acknowledged")
    assert screen.prompts == [(1, 10), (2, 15)]  # echoed prompts are not sent again
    assert [p.key for p in presses] == ["2"]  # and an echo of a prompt is never a key
    assert not any(e.kind in (KeyEventKind.UNKNOWN_KEY, KeyEventKind.BAD_FRAME) for e in events)


def test_a_prompt_the_evaluator_does_not_echo_is_sent_again_then_given_up(keypad, screen) -> None:  # type: ignore[no-untyped-def]
    pad, _, _ = keypad
    screen.echo_prompts = False
    pad.show(Showing(Prompt.THANKS, 3))
    wait_until(lambda: len(screen.prompts) == 3, what="the prompt and its two resends")
    assert screen.shown() == [(3, 3)]
    pad.show(Showing(Prompt.OUT_OF_ORDER))
    wait_until(lambda: len(screen.prompts) == 6, what="the next prompt, again three times")
    assert screen.shown() == [(3, 3), (4, 0)]


def test_a_key_frame_without_the_preamble_is_echoed_with_it(keypad, screen) -> None:  # type: ignore[no-untyped-def]
    _, presses, _ = keypad
    sent = screen.key(5, preamble=False)
    wait_until(lambda: screen.echoes, what="the echo")
    assert screen.echoes == [b"\xff" + sent]
    wait_until(lambda: presses, what="the press")


def test_the_current_prompt_is_sent_again_when_the_port_comes_back(keypad, pty_pair) -> None:  # type: ignore[no-untyped-def]
    pad, _, _ = keypad
    pad.show(Showing(Prompt.PLEASE_RATE, 10))
    pty_pair.stop()
    wait_until(lambda: not pad.healthy(), what="fault")
    pty_pair.start()
    device = FramedEvaluator(pty_pair.b)
    try:
        wait_until(lambda: device.prompts[:1] == [(1, 10)], what="the prompt again after reopening")
    finally:
        device.close()
