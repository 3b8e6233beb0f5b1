"""Commands to the recorder over MQTT (`hall/<hall>/dev/<device>/cmd`), answered on `.../reply`.

A complaint at central places a hold through the gateway. Every command
carries an `id`; a hold without its own `hold_id` takes the command id, so a
command delivered twice (QoS 1) holds once. Commands of other domains on the
same topic are left to their handlers.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from contract.commands.recorder import (
    PREFIX,
    RECORDER_COMMANDS,
    RecorderHold,
    RecorderListHolds,
    RecorderRelease,
)
from contract.registry import describe_error
from edge.camera_recorder.holds import HoldRefused
from edge.camera_recorder.times import iso

if TYPE_CHECKING:
    from edge.camera_recorder.service import Recorder

log = logging.getLogger(__name__)

RecorderCommand = RecorderHold | RecorderRelease | RecorderListHolds


def handle_payload(recorder: Recorder, payload: bytes | bytearray) -> dict[str, Any] | None:
    """Run one command and build its reply; None when the payload is not a recorder command."""
    try:
        raw = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(raw, dict) or not str(raw.get("command", "")).startswith(PREFIX):
        return None
    reply: dict[str, Any] = {
        "v": 1,
        "id": raw.get("id"),
        "device": recorder.config.device.id,
        "command": raw.get("command"),
    }
    try:
        command = RECORDER_COMMANDS.validate_python(raw)
    except ValidationError as exc:
        return {**reply, "ok": False, "error": f"invalid command: {describe_error(exc)}"}
    try:
        result = _run(recorder, command)
    except HoldRefused as exc:
        return {**reply, "ok": False, "error": str(exc)}
    except ValueError as exc:  # a time that does not parse
        return {**reply, "ok": False, "error": str(exc)}
    return {**reply, "ok": True, "result": result}


def _run(recorder: Recorder, command: RecorderCommand) -> Any:
    if isinstance(command, RecorderHold):
        request = command.hold
        if request.hold_id is None:
            request = request.model_copy(update={"hold_id": command.id})
        placed = recorder.place_hold(request, source="mqtt")
        return [
            {
                "hold_id": p.hold.id,
                "camera": p.hold.camera,
                "from": iso(p.hold.start_ms),
                "to": iso(p.hold.end_ms),
                "until": iso(p.hold.until_ms),
                "new": p.new,
                "held_segments": p.segments,
                "held_bytes": p.bytes,
                "missing": [
                    {"from": iso(g.start_ms), "to": iso(g.end_ms), "cause": g.cause}
                    for g in p.gaps
                ],
            }
            for p in placed
        ]
    if isinstance(command, RecorderRelease):
        released = recorder.release_hold(command.release)
        return [{"hold_id": h.id, "camera": h.camera, "state": h.state} for h in released]
    return [
        {
            "hold_id": h.id,
            "camera": h.camera,
            "from": iso(h.start_ms),
            "to": iso(h.end_ms),
            "until": iso(h.until_ms),
            "who": h.who,
            "why": h.why,
        }
        for h in recorder.index.holds.all(active_only=True)
        if not h.guards_an_export
    ]


def command_schema() -> dict[str, Any]:
    """The JSON schema of every recorder command (for the docs and for central)."""
    return RECORDER_COMMANDS.json_schema(by_alias=True)
