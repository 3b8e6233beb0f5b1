"""Real serial parts for keypad tests: socat pseudo-terminal pairs and a pymodbus RTU keypad."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from pathlib import Path

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer

from tests.support import wait_until

FC_INPUT = 4


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
    """A pymodbus RTU server playing an RS-485 keypad with the default latch register map."""

    def __init__(self, port: str, *, device_id: int = 1) -> None:
        self.port = port
        block = ModbusSequentialDataBlock(0, [0] * 32)
        self.device = ModbusDeviceContext(ir=block, hr=ModbusSequentialDataBlock(0, [0] * 32))
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
