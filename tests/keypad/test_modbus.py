"""An RS-485 keypad over Modbus RTU: a pymodbus server on one end of a socat pty pair."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edge.runtime.hardware.factory import build_keypad
from edge.runtime.hardware.keys import KeyEvent, KeyEventKind, KeyPress
from edge.runtime.hardware.modbus import ModbusKeypad
from edge.runtime.hardware.prompt import Prompt, Showing
from edge.runtime.hardware.settings import ModbusKeypadSettings, ModbusRegisterMap
from tests.keypad.serial_parts import ModbusKeypadServer, PtyPair, wait_until


def settings(port: str, **overrides: object) -> ModbusKeypadSettings:
    values: dict[str, object] = {"kind": "modbus", "port": port, "timeout_s": 0.15, "retries": 0,
                                 "poll_ms": 20, "fault_after": 3}
    values.update(overrides)
    return ModbusKeypadSettings.model_validate(values)


class Watch:
    def __init__(self, pad: ModbusKeypad) -> None:
        self.presses: list[KeyPress] = []
        self.events: list[KeyEvent] = []
        pad.on_event(self.events.append)
        pad.start(self.presses.append)

    def kinds(self, kind: KeyEventKind) -> list[KeyEvent]:
        return [e for e in self.events if e.kind == kind]


@pytest.fixture
def server(pty_pair: PtyPair) -> Iterator[ModbusKeypadServer]:
    keypad = ModbusKeypadServer(pty_pair.b)
    keypad.start()
    yield keypad
    keypad.stop()


def test_each_latched_press_is_delivered_once(pty_pair: PtyPair, server: ModbusKeypadServer) -> None:
    server.press(4)  # before we listen: history, not a press
    pad = build_keypad(settings(pty_pair.a))
    assert isinstance(pad, ModbusKeypad)
    watch = Watch(pad)
    try:
        wait_until(lambda: pad._counter is not None, what="first poll")
        server.press(2)
        wait_until(lambda: len(watch.presses) == 1, what="press of key 2")
        server.press(5)
        wait_until(lambda: len(watch.presses) == 2, what="press of key 5")
        server.press(9)  # no key has code 9
        wait_until(lambda: watch.kinds(KeyEventKind.UNKNOWN_KEY), what="unknown code reported")
        assert [p.key for p in watch.presses] == ["2", "5"]
        assert pad.healthy()
    finally:
        pad.stop()


def test_presses_faster_than_polling_are_one_press_and_reported_missed(
    pty_pair: PtyPair, server: ModbusKeypadServer
) -> None:
    pad = ModbusKeypad(settings(pty_pair.a, poll_ms=10))
    try:
        pad.poll()  # synchronise by hand; the thread is not started
        watch = Watch.__new__(Watch)
        watch.presses, watch.events = [], []
        pad.on_event(watch.events.append)
        pad._on_press = watch.presses.append
        server.press(1)
        server.press(3)
        server.press(3)
        pad.poll()
        assert [p.key for p in watch.presses] == ["3"]
        assert "2 earlier press(es)" in watch.kinds(KeyEventKind.MISSED)[0].detail
    finally:
        pad.stop()


def test_pulled_cable_is_one_fault_no_phantom_press_and_recovers(
    pty_pair: PtyPair, server: ModbusKeypadServer
) -> None:
    pad = ModbusKeypad(settings(pty_pair.a))
    watch = Watch(pad)
    try:
        wait_until(lambda: pad._counter is not None, what="first poll")
        server.stop()  # keypad silent: every poll times out
        wait_until(lambda: not pad.healthy(), what="fault")
        server.press(1)  # pressed while unreachable (counter moves)
        server.start()
        wait_until(pad.healthy, what="recovery")
        server.press(2)
        wait_until(lambda: watch.presses, what="press after recovery")
        assert [p.key for p in watch.presses] == ["2"]
        assert len(watch.kinds(KeyEventKind.FAULT)) == 1
        assert "timeout" in watch.kinds(KeyEventKind.FAULT)[0].detail.lower() or \
            "no response" in watch.kinds(KeyEventKind.FAULT)[0].detail.lower()
        assert len(watch.kinds(KeyEventKind.RECOVERED)) == 1
        assert "while unreachable" in watch.kinds(KeyEventKind.MISSED)[0].detail
    finally:
        pad.stop()


def test_garbled_answers_are_retried_and_never_become_presses(
    pty_pair: PtyPair, server: ModbusKeypadServer
) -> None:
    """A noisy line: bytes with a bad CRC arrive instead of answers."""
    import serial

    server.stop()
    pad = ModbusKeypad(settings(pty_pair.a, fault_after=2))
    watch = Watch(pad)
    noise = serial.Serial(pty_pair.b, 9600, timeout=0.05)
    try:
        def answer_garbage() -> bool:
            if noise.read(8):
                noise.write(bytes([0x01, 0x04, 0x04, 0x00, 0x07, 0x00, 0x02, 0xDE, 0xAD]))
            return not pad.healthy()

        wait_until(answer_garbage, what="fault from garbled answers")
        assert watch.presses == []
        assert len(watch.kinds(KeyEventKind.FAULT)) == 1
    finally:
        noise.close()
        pad.stop()


def test_bitmap_keypads_are_debounced_and_holds_reported(
    pty_pair: PtyPair, server: ModbusKeypadServer
) -> None:
    pad = ModbusKeypad(settings(pty_pair.a, registers=ModbusRegisterMap(mode="bitmap", state=5),
                                keys={0: "1", 4: "5"}, hold_ms=300))
    watch = Watch(pad)
    try:
        wait_until(lambda: pad._bits is not None, what="first poll")
        server.set(5, 0b10000)
        wait_until(lambda: watch.kinds(KeyEventKind.HELD), what="hold reported")
        server.set(5, 0)
        wait_until(lambda: watch.kinds(KeyEventKind.RELEASE), what="release")
        server.set(5, 0b1)
        wait_until(lambda: len(watch.presses) == 2, what="second key")
        assert [p.key for p in watch.presses] == ["5", "1"]
    finally:
        pad.stop()


def test_a_port_that_is_not_there_fails_at_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from edge.runtime.hardware.factory import KeypadUnavailable

    with pytest.raises(KeypadUnavailable, match="cannot open serial port"):
        build_keypad(settings(str(tmp_path / "ttyNone")))


def test_a_keypad_restart_is_counted_apart_never_as_missed_presses(
    pty_pair: PtyPair, server: ModbusKeypadServer
) -> None:
    pad = ModbusKeypad(settings(pty_pair.a))
    watch = Watch(pad)
    try:
        wait_until(lambda: pad._counter is not None, what="first poll")
        for count, code in enumerate((1, 2, 3), start=1):
            server.press(code)
            wait_until(lambda: len(watch.presses) == count, what=f"press {count}")  # noqa: B023
        server.restart()  # counter back to 0
        wait_until(lambda: watch.kinds(KeyEventKind.RESTARTED), what="the restart")
        assert "from 3 to 0" in watch.kinds(KeyEventKind.RESTARTED)[0].detail
        assert watch.kinds(KeyEventKind.MISSED) == []
        server.press(4)  # the first press after the restart is a press
        wait_until(lambda: watch.presses and watch.presses[-1].key == "4", what="a press after the restart")
        assert watch.kinds(KeyEventKind.MISSED) == [] and pad.healthy()
    finally:
        pad.stop()


def test_presses_counted_since_a_restart_the_poll_did_not_see_are_the_only_missed_ones(
    pty_pair: PtyPair, server: ModbusKeypadServer
) -> None:
    pad = ModbusKeypad(settings(pty_pair.a))
    try:
        pad.poll()  # synchronise by hand; the thread is not started
        watch = Watch.__new__(Watch)
        watch.presses, watch.events = [], []
        pad.on_event(watch.events.append)
        pad._on_press = watch.presses.append
        for code in (1, 2, 3, 4, 5):
            server.press(code)
        pad.poll()
        server.restart()
        server.press(1)
        server.press(2)  # counter 2 after the restart, between two polls
        pad.poll()
        assert len(watch.kinds(KeyEventKind.RESTARTED)) == 1
        assert [e.detail for e in watch.kinds(KeyEventKind.MISSED)] == [
            "4 earlier press(es) between polls", "2 press(es) since the keypad restarted"]
        assert [p.key for p in watch.presses] == ["5"]
    finally:
        pad.stop()


def prompting(port: str, **overrides: object) -> ModbusKeypadSettings:
    return settings(port, registers=ModbusRegisterMap(prompt=16), **overrides)


def test_prompts_are_written_to_the_two_holding_registers_and_again_after_a_fault_and_a_restart(
    pty_pair: PtyPair, server: ModbusKeypadServer
) -> None:
    pad = ModbusKeypad(prompting(pty_pair.a))
    watch = Watch(pad)
    try:
        pad.show(Showing(Prompt.PLEASE_RATE, 10))
        wait_until(lambda: server.prompts() == [[1, 10]], what="please rate, 10 s, at registers 16-17")
        pad.show(Showing(Prompt.THANKS, 3))
        wait_until(lambda: server.prompts()[-1:] == [[3, 3]], what="thanks")
        server.stop()  # the cable is pulled: a keypad that lost power forgets what it showed
        wait_until(lambda: not pad.healthy(), what="fault")
        server.start()
        wait_until(lambda: len(server.prompts()) == 3, what="the prompt written again after the fault")
        server.press(1)
        wait_until(lambda: watch.presses, what="a press")
        server.restart()
        wait_until(lambda: watch.kinds(KeyEventKind.RESTARTED), what="the restart")
        wait_until(lambda: len(server.prompts()) == 4, what="the prompt written again after the restart")
        assert server.prompts() == [[1, 10], [3, 3], [3, 3], [3, 3]]
    finally:
        pad.stop()


def test_a_keypad_without_prompt_registers_answers_with_an_exception_and_still_works(
    pty_pair: PtyPair, caplog: pytest.LogCaptureFixture
) -> None:
    server = ModbusKeypadServer(pty_pair.b, holding=4)
    server.start()
    pad = ModbusKeypad(prompting(pty_pair.a))
    watch = Watch(pad)
    try:
        wait_until(lambda: pad._counter is not None, what="first poll")
        pad.show(Showing(Prompt.PLEASE_RATE, 10))
        wait_until(lambda: "refused the prompt registers" in caplog.text, what="the refusal logged")
        server.press(2)
        wait_until(lambda: watch.presses, what="a press after the refused prompt")
        assert pad.healthy() and watch.kinds(KeyEventKind.FAULT) == []
        assert caplog.text.count("refused the prompt registers") == 1
    finally:
        pad.stop()
        server.stop()


def test_without_prompt_registers_configured_nothing_is_ever_written(
    pty_pair: PtyPair, server: ModbusKeypadServer
) -> None:
    pad = ModbusKeypad(settings(pty_pair.a))
    watch = Watch(pad)
    try:
        wait_until(lambda: pad._counter is not None, what="first poll")
        pad.show(Showing(Prompt.PLEASE_RATE, 10))
        server.press(1)
        wait_until(lambda: watch.presses, what="a press")
        assert server.device.writes == []
    finally:
        pad.stop()


def test_exception_replies_to_the_poll_are_failed_polls_and_make_one_fault(
    pty_pair: PtyPair, server: ModbusKeypadServer
) -> None:
    # Registers 40-41 do not exist on this keypad: it answers every read with "illegal address".
    pad = ModbusKeypad(settings(pty_pair.a, registers=ModbusRegisterMap(counter=40, key_code=41)))
    watch = Watch(pad)
    try:
        wait_until(lambda: not pad.healthy(), what="fault")
        assert len(watch.kinds(KeyEventKind.FAULT)) == 1
        assert "error" in watch.kinds(KeyEventKind.FAULT)[0].detail.lower()
        assert watch.presses == []
    finally:
        pad.stop()
