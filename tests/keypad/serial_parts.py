"""Real serial parts for keypad tests: socat pseudo-terminal pairs and a pymodbus RTU keypad."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer

from tests.support import wait_until

FC_INPUT = 4
FC_WRITE_REGISTERS = (6, 16)


class RecordingDevice(ModbusDeviceContext):
    """A Modbus device's registers that remember every write the host made, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[tuple[int, list[int]]] = []

    def setValues(self, func_code: int, address: int, values: Any) -> Any:  # noqa: N802 - pymodbus' name
        if func_code in FC_WRITE_REGISTERS:
            self.writes.append((address, list(values)))
        return super().setValues(func_code, address, values)


class PtyPair:
    """Two connected serial ports (`a` for the agent, `b` for the simulated device) made by socat."""

    def __init__(self, directory: Path) -> None:
        if shutil.which("socat") is None:
            raise RuntimeError("socat is not installed")
        self.a = str(directory / "ttyA")
        self.b = str(directory / "ttyB")
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: Path(self.a).exists() and Path(self.b).exists(), 10, "socat ptys")

    def stop(self) -> None:
        """Pull the cable: both ports disappear."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
        wait_until(lambda: not Path(self.a).exists(), 10, "ptys gone")


class ModbusKeypadServer:
    """A pymodbus RTU server playing an RS-485 keypad with the default latch register map.

    `holding` registers from 0 take the host's prompts (`device.writes` records them); a keypad
    with fewer than the prompt's address answers the write with an exception."""

    def __init__(self, port: str, *, device_id: int = 1, holding: int = 32) -> None:
        self.port = port
        block = ModbusSequentialDataBlock(0, [0] * 32)
        self.device = RecordingDevice(ir=block, hr=ModbusSequentialDataBlock(0, [0] * holding))
        self.context = ModbusServerContext(devices={device_id: self.device}, single=False)
        self.counter = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusSerialServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def serve() -> None:
                self._server = ModbusSerialServer(self.context, framer=FramerType.RTU,
                                                  port=self.port, baudrate=9600)
                await self._server.serve_forever(background=True)  # returns once the port is open
                ready.set()
                await self._server.serving

            try:
                loop.run_until_complete(serve())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="modbus-keypad")
        self._thread.start()
        assert ready.wait(10)

    def stop(self) -> None:
        """Go silent: requests now time out, as with a pulled RS-485 cable."""
        if self._loop is not None and self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(10)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._server = self._thread = None

    def set(self, address: int, *values: int) -> None:
        self.device.setValues(FC_INPUT, address, list(values))

    def press(self, code: int) -> None:
        """A press as the keypad latches it: code first, then the counter."""
        self.counter = (self.counter + 1) % 65536
        self.set(1, code)
        self.set(0, self.counter)

    def restart(self) -> None:
        """The keypad rebooted: its counter and last code start again from 0."""
        self.counter = 0
        self.set(1, 0)
        self.set(0, 0)

    def prompts(self, address: int = 16) -> list[list[int]]:
        """What the host wrote to the prompt registers: [code, seconds] each time."""
        return [values for at, values in self.device.writes if at == address]


class FramedEvaluator:
    """A framed-protocol evaluator with a screen on the device end of a pty pair: it sends key
    frames, and records every frame the host sends it -- prompts (echoed back, as the protocol
    asks, unless `echo_prompts` is off) and the host's echoes of its key frames."""

    def __init__(self, port: str, *, address: int = 3, prompt_function: int = 0x02) -> None:
        import serial

        from edge.runtime.hardware.framed_serial import FrameParser

        self.line = serial.Serial(port, 9600, timeout=0.05)
        self.address = address
        self.prompt_function = prompt_function
        self.echo_prompts = True
        self.echo_preamble = True
        self.prompts: list[tuple[int, int]] = []
        """(prompt code, seconds) of every prompt frame received, repeats included."""
        self.echoes: list[bytes] = []
        """The raw bytes of each non-prompt frame the host sent (its acknowledgements)."""
        self._parser = FrameParser()
        self._lock = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._listen, daemon=True, name="framed-evaluator")
        self._thread.start()

    def key(self, code: int, *, preamble: bool = True) -> bytes:
        from edge.runtime.hardware.framed_serial import encode_frame

        frame = encode_frame(self.address, 0x01, bytes([code]))
        frame = frame if preamble else frame[1:]
        self.line.write(frame)
        return frame

    def shown(self) -> list[tuple[int, int]]:
        """The prompts in order, a resent one counted once."""
        with self._lock:
            return [p for i, p in enumerate(self.prompts) if i == 0 or p != self.prompts[i - 1]]

    def _listen(self) -> None:
        from edge.runtime.hardware.framed_serial import Frame

        while self._running:
            try:
                data = self.line.read(64)
            except Exception:  # closed by close()
                return
            for item in self._parser.feed(data):
                if not isinstance(item, Frame):
                    continue
                raw = item.encode()
                with self._lock:
                    if item.function == self.prompt_function:
                        self.prompts.append((item.data[0], item.data[1]))
                        echo = self.echo_prompts
                    else:
                        self.echoes.append(raw)
                        echo = False
                if echo:
                    self.line.write(raw if self.echo_preamble else raw[1:])

    def close(self) -> None:
        self._running = False
        self._thread.join(2)
        self.line.close()
