"""The monitoring room's big screen: a board of counts, figures, queues and alarms for a whole city.

`board` builds it from grouped answers (`tally`, `sqltally`, `queues`);
`parts` holds what central's service plugs in (the tally, the anomaly and
project slots, the caches); `models` documents the JSON; `sample` seeds a
city for the benchmark and the browser tests. The HTTP routes are in
`central.web.api_screen`, the page in `central/web/static/screen.*`.
"""

from central.web.screen.parts import ScreenParts

__all__ = ["ScreenParts"]
