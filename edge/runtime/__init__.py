"""The edge runtime every agent and the gateway forwarder share: outbox, uplink, config, clock."""
