"""The hardware floor of every edge agent: keys in, lamps and beeps out, behind small interfaces.

`keys` (Keypad, KeyPress, key events, SimulatedKeypad), `debounce` (the one
Debouncer), `gpio`/`console`/`modbus`/`framed_serial` (keypad adapters),
`indicator` (lamps, buzzer, console; simulated), `pins` (the one choice of a
gpiozero pin factory), `settings` (the `[keypad]` and `[indicator]` sections),
`factory` (`build_keypad`, `build_indicator`). Hardware libraries are imported
inside the backends, so the package imports on any laptop.
"""
