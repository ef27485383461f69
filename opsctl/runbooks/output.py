"""Write a rendered site into a folder, and only there.

The folder keeps a list of what the last render wrote (``.opsctl-rendered``), so that the
page of a pipeline that is gone is removed and nothing else ever is. A folder that has
files but no such list was not made by opsctl: writing there could overwrite somebody's
README.md, so it is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from opsctl.errors import UsageError

MANIFEST = ".opsctl-rendered"


def write_site(out: Path, files: Mapping[str, str]) -> list[str]:
    """Write ``files`` (relative path → text) under ``out``; returns the paths removed as stale."""
    try:
        previous = _previous(out)
        made: set[Path] = set()
        for relative, text in files.items():
            target = out / relative
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            target.write_text(text, encoding="utf-8")
        stale = sorted(previous - set(files))
        for relative in stale:
            (out / relative).unlink(missing_ok=True)
            _remove_empty_parents(out, (out / relative).parent)
        (out / MANIFEST).write_text("".join(f"{path}\n" for path in sorted(files)), encoding="utf-8")
    except OSError as exc:
        where = exc.filename if exc.filename is not None else out
        raise UsageError(f"--out: cannot write {os.fspath(where)!r}: {exc.strerror or exc}") from None
    return stale


def _previous(out: Path) -> set[str]:
    """What the last render wrote into ``out``; :class:`UsageError` when ``out`` has files opsctl did not write."""
    manifest = out / MANIFEST
    if manifest.is_file():
        # a hand-edited list must not make opsctl delete files outside the folder
        root = out.resolve()
        lines = manifest.read_text("utf-8").splitlines()
        return {line for line in lines if line and (out / line).resolve().is_relative_to(root)}
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out: {os.fspath(out)!r} has files that opsctl did not write; choose a new or empty folder")
    return set()


def _remove_empty_parents(out: Path, folder: Path) -> None:
    while folder != out and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
