"""opsctl: on-call and ownership for data teams, kept as code."""

__version__ = "0.1.0"
