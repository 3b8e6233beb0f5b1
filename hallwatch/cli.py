"""The `hall` command: one subcommand group per role, each defined beside its role."""

from __future__ import annotations

import click

from hallwatch.logsetup import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING, ERROR")
@click.version_option(package_name="hallwatch")
def main(log_level: str) -> None:
    """hallwatch: e-supervision for government service halls."""
    configure_logging(log_level)


def _register() -> None:
    from central.cli import central
    from edge.camera_recorder.cli import recorder
    from edge.queue_kiosk.cli import kiosk
    from edge.rating_terminal.cli import rating
    from edge.runtime.cli import device
    from gateway.cli import gateway
    from hallwatch.demo import demo
    from provisioning.cli import provision

    for command in (gateway, central, kiosk, rating, recorder, provision, device, demo):
        main.add_command(command)


_register()

if __name__ == "__main__":
    main()
