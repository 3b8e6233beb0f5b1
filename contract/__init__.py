"""The wire protocol between devices, gateways and central (see docs/protocol.md)."""

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
