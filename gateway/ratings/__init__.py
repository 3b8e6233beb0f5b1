"""Ratings at the hall gateway: arm the window's terminal when a visit is served, and attribute
every outcome to window, officer and department from the window's login -- never from the keypad.

`settings` is the `[ratings]` section; `store` the tables (in the gateway's SQLite file, committed
with the event that changed them: who was logged in where and when, the visits served, the
outcomes); `handler` feeds it all from the hall's events (`RatingDesk`, whose `flush` the
gateway runs every few seconds to settle outcomes whose visit never came).
"""
