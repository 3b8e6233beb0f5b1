"""Central's HTTP side: the API, its roles, and the monitoring room's big screen."""
