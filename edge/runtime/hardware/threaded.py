"""What every keypad read by its own thread shares: the press handler, the event hub, start and stop.

The console, evdev, Modbus and framed-serial adapters each read their hardware
in a loop on one thread; only the loop and what it must close differ.
"""

from __future__ import annotations

import threading

from edge.runtime.hardware.keys import KeyEventHandler, KeyEventHub, KeyHandler, KeyPress


class ThreadedKeypad:
    """A keypad whose `_run` loop (until `_stop` is set) reads the hardware and calls `_deliver`.

    Subclasses implement `_run`, and `_release` to close what they opened once a
    stop was asked; `thread_role` names the thread (`<source>-<role>`) for logs.
    """

    thread_role = "keys"

    def __init__(self, source: str) -> None:
        self.source = source
        self.events = KeyEventHub(source)
        self._on_press: KeyHandler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_press: KeyHandler) -> None:
        self._on_press = on_press
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"{self.source}-{self.thread_role}",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._on_press = None
        self._stop.set()
        self._release()

    def healthy(self) -> bool:
        return not self.events.faulted

    def on_event(self, handler: KeyEventHandler) -> None:
        self.events.add(handler)

    def _deliver(self, press: KeyPress) -> None:
        handler = self._on_press
        if handler is not None:
            handler(press)

    def _join(self, timeout_s: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        """Close the device once a stop was asked (the thread may still be finishing its read)."""
