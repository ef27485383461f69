"""Click commands, one module per area; imported lazily by :mod:`opsctl.cli`."""
