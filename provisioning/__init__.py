"""Provisioning: registry of halls and devices, credentials, broker configuration, self-tests."""
