"""Writing files so that a reader never sees half of one.

Kept to the standard library and without ``typing``: the whoisoncall answer cache
writes through it.
"""

from __future__ import annotations

import contextlib
import os


def write_atomically(
    path: str | os.PathLike[str], text: str | bytes, *, mode: int | None = None, make_folder: bool = False
) -> None:
    """Write ``text`` (UTF-8) or bytes to ``path`` through a temporary file in the same folder,
    then rename it into place; with ``mode``, the file has it from its first byte; with
    ``make_folder``, a missing folder is made. Raises :class:`OSError`, leaving no temporary
    file behind."""
    import tempfile

    folder = os.path.dirname(os.fspath(path)) or "."
    if make_folder:
        os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(os.fspath(path))}.", dir=folder)
    try:
        if mode is not None:
            os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
