"""The hall's queue at the gateway: tickets from kiosks, calls from windows, appointments from central.

`rules` is the pure queue logic; `store` keeps its state in the gateway's
SQLite file (committed with the event that changed it); `handler` feeds it
the hall's events; `board` publishes what kiosks and displays show;
`appointments` takes central's bookings.
"""
