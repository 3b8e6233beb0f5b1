"""Queue-ticket kiosk: buttons and keypad in, printed tickets out, events to the gateway."""
