"""The hall display's configuration (TOML): only what every agent has (docs/configuration.md).

The display learns its hall from `[device]` and hears the calls on that hall's
broker; it has no settings of its own yet.
"""

from __future__ import annotations

from edge.runtime.agent import AgentConfig, trial_sections


class DisplayConfig(AgentConfig):
    """A hall display (`[device] kind = "display"`): identity, broker, outbox."""

    trial_defaults = trial_sections("display-1", "display")
