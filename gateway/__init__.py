"""Hall gateway: receives the hall devices, holds the hall queue, forwards to central."""
