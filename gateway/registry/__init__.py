"""The hall's device registry at the gateway: which devices may speak, and as what.

`store` owns the registry's tables (and the cache the ingest path asks);
`handler` moves a device on its self-test and configuration reports; `sync`
carries out central's `registry.sync`; `apply` writes a hall registry into a
gateway's file from outside the running gateway (`hall gateway apply-registry`).
"""
