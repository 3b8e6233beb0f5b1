"""Central's HTTP side: the API (one module per door, each route declared once with its role),
the monitoring room's big screen and pages. It reads the domain modules; they never import it."""
