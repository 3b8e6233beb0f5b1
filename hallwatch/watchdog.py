"""systemd's service watchdog for any `hall` role: `python -m hallwatch.watchdog ROLE-ARGS...`.

Runs `hall ROLE-ARGS...` in this process with `spine.service`'s watchdog
started first, for the roles whose `run` command does not yet go through
`spine.service.run_until_signal` (which starts the same watchdog itself: one
per process, so a role that does is not pinged for twice).
"""

from __future__ import annotations

import sys

from spine.service import LinkHealth, start_watchdog


def main(argv: list[str]) -> None:
    from hallwatch.cli import main as hall

    start_watchdog(LinkHealth())
    hall.main(args=argv, prog_name="hall")


if __name__ == "__main__":
    main(sys.argv[1:])
