"""The recorder wired to the edge runtime: events through the outbox, commands from MQTT."""

from __future__ import annotations

import json
import logging
from typing import Any

import paho.mqtt.client as mqtt

from contract.topics import Channel, device_topic
from edge.camera_recorder.camera import CameraBackend
from edge.camera_recorder.commands import handle_payload
from edge.camera_recorder.config import RecorderConfig
from edge.camera_recorder.service import DiskProbe, Recorder
from edge.camera_recorder.video import RecorderVideoServer
from edge.runtime.agent import EdgeAgent
from spine.clock import Clock

log = logging.getLogger(__name__)


class RecorderAgent:
    """`hall recorder run`: a Recorder whose events and commands travel over the spine."""

    def __init__(
        self,
        config: RecorderConfig,
        *,
        clock: Clock | None = None,
        backend: CameraBackend | None = None,
        disk: DiskProbe | None = None,
    ) -> None:
        self.config = config
        self.agent = EdgeAgent(config, clock=clock, heartbeat_extra=self._heartbeat)
        self.recorder = Recorder(
            config, events=self.agent, clock=clock, backend=backend, disk=disk
        )
        self.video = RecorderVideoServer(self.recorder, config) if config.video is not None else None
        self.agent.on_command(self.on_command)
        self.reply_topic = device_topic(config.device.hall, config.device.id, Channel.REPLY)

    def start(self) -> None:
        # Recording first: footage must not wait for a broker that may never answer.
        self.recorder.start()
        if self.video is not None:
            self.video.start()
        self.agent.start()

    def stop(self) -> None:
        if self.video is not None:
            self.video.stop()
        self.recorder.stop()
        self.agent.stop()

    def on_command(self, message: mqtt.MQTTMessage) -> None:
        try:
            reply = handle_payload(self.recorder, message.payload)
        except Exception:  # a failing command must not take the MQTT thread down
            log.exception("recorder command failed")
            return
        if reply is None:
            return
        log.info(
            "command %s %s: %s", reply.get("command"), reply.get("id"),
            "ok" if reply.get("ok") else reply.get("error"),
        )
        self.agent.publish(self.reply_topic, json.dumps(reply, ensure_ascii=False))

    def _heartbeat(self) -> dict[str, Any]:
        return {"recorder": self.recorder.heartbeat_summary()}

    def diagnostics(self) -> dict[str, Any]:
        return {"agent": self.agent.diagnostics(), "recorder": self.recorder.diagnostics(),
                "video": self.video.diagnostics() if self.video is not None else None}
