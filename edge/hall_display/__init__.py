"""Hall display: every call the gateway announces, shown (and spoken) as it happens."""
