"""The ticket printer: python-escpos backends, our own real-time status layer, and a simulator.

`status` decodes DLE EOT replies (pure), `link` talks to a real or simulated
printer with short explicit timeouts, `health` turns polls into state changes
reported once, `sim` is a TCP printer that records bytes and answers status.
"""
