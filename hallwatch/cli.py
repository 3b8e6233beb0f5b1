"""The `hall` command: one subcommand group per role, each defined beside its role.

Groups are imported only when called, so an agent on a small Pi loads its own
role's code and libraries, not central's web stack or the recorder's.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from hallwatch.logsetup import configure_logging

COMMANDS: dict[str, tuple[str, str]] = {
    "gateway": ("gateway.cli:gateway", "The hall gateway."),
    "central": ("hallwatch.roots:central", "Central supervision: service, cases, countdown."),
    "kiosk": ("edge.queue_kiosk.cli:kiosk", "The queue-ticket kiosk agent."),
    "caller": ("edge.window_caller.cli:caller", "The window caller: the officer's keypad."),
    "display": ("edge.hall_display.cli:display", "The hall display: calls as they happen."),
    "rating": ("edge.rating_terminal.cli:rating", "The window satisfaction terminal agent."),
    "recorder": ("edge.camera_recorder.cli:recorder", "The camera recorder agent."),
    "provision": ("provisioning.cli:provision", "Provision halls, windows and devices."),
    "device": ("edge.runtime.simulate:device", "Generic device commands: simulate, diagnostics, schema."),
    "demo": ("hallwatch.demo:demo", "Run a simulated hall end to end."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[name][0].split(":")
        command: Any = getattr(importlib.import_module(module_name), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Describe commands without importing every role just to print help.
        with formatter.section("Commands"):
            formatter.write_dl([(name, help) for name, (_, help) in sorted(COMMANDS.items())])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING, ERROR")
@click.version_option(package_name="hallwatch")
def main(log_level: str) -> None:
    """hallwatch: e-supervision for government service halls."""
    configure_logging(log_level)


if __name__ == "__main__":
    main()
