"""Which folder is the ops repository; kept apart from the loader so that finding it imports no YAML."""

from __future__ import annotations

import os
from pathlib import Path

from opsctl.errors import UsageError


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    """The repository root: ``root``, else the current directory (the CLI reads ``$OPSCTL_ROOT``)."""
    chosen = root if root is not None else "."
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise UsageError(f"ops repository {str(chosen)!r} is not a directory")
    return path
