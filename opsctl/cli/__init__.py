"""The command line: a thin skin over the library, one module per area, each imported only
when its command runs (see :mod:`opsctl.cli.main`)."""
