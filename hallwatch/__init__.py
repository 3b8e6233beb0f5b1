"""hallwatch: e-supervision for government service halls (shared glue: CLI, protocol, demo)."""

__version__ = "0.1.0"
