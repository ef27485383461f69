"""Answer `opsctl whoisoncall` from compiled answers, before importing the rest of opsctl.

The full path (click, YAML, the model, the engine) costs ~80 ms of imports, several times
the interpreter's own start. So whenever it answers `whoisoncall`, it also writes the
answers for the coming weeks, per rotation and slot, into a cache file
(:func:`compile_answers`); the next `opsctl whoisoncall` looks the current instant up in
it (:func:`lookup`) and prints, importing only the standard library.

The cache is used only when its key still matches: the path, size and modification time
of every input file (ownership.yaml and rotations/), of opsctl's own source files and of
the installed holiday library, and a checksum of each input file modified shortly before
the answers were compiled (:func:`recent_sums`: an edit within the file system's clock
tick that keeps the size leaves the modification time as it was); and only for what it can answer exactly: the current time,
optionally one team, JSON or plain text. Anything else (``--at``, ``--pipeline``, an
unknown team, an instant outside the compiled window, a missing or stale cache) falls
through to the full path, which answers and compiles again. Nothing here may raise: on
any doubt it returns False.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

from opsctl.system.environment import cache_folder

TYPE_CHECKING = False  # `typing` costs 7 ms to import; this module must not need it
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, TextIO

FORMAT_VERSION = 3
"""Bumped whenever the file changes shape (2: each person's own ``reduced``; 3: ``sums``)."""
RECENT_NS = 3 * 10**9
"""Input files modified less than this long (ns) before the answers are compiled are also
checksummed: wider than the coarsest file system clock opsctl meets (FAT's 2 s)."""
WINDOW_DAYS = 35
"""How far ahead answers are compiled."""


def _stat_entries(folder: str, suffixes: tuple[str, ...], recursive: bool) -> list[list[Any]]:
    rows: list[list[Any]] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return rows
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if recursive and not entry.name.startswith((".", "__")):
                rows += _stat_entries(entry.path, suffixes, recursive)
            continue
        if entry.name.endswith(suffixes):
            stat = entry.stat()
            rows.append([entry.path, stat.st_size, stat.st_mtime_ns])
    return rows


def cache_key(root: str) -> list[Any]:
    """Everything the compiled answers depend on, cheap to recompute (stat calls only)."""
    import importlib.util

    root = os.path.realpath(root)
    key: list[Any] = [FORMAT_VERSION, root]
    path = os.path.join(root, "ownership.yaml")
    if os.path.isfile(path):
        stat = os.stat(path)
        key.append([path, stat.st_size, stat.st_mtime_ns])
    key += _stat_entries(os.path.join(root, "rotations"), (".yaml", ".yml"), recursive=False)
    key += _stat_entries(os.path.dirname(os.path.abspath(__file__)), (".py",), recursive=True)
    spec = importlib.util.find_spec("holidays")
    if spec is not None and spec.origin:
        stat = os.stat(spec.origin)
        key.append([spec.origin, stat.st_size, stat.st_mtime_ns])
    return key


def _checksum(path: str) -> int:
    import zlib

    with open(path, "rb") as handle:
        return zlib.crc32(handle.read())


def recent_sums(root: str, key: list[Any], now_ns: int) -> list[list[Any]]:
    """[path, checksum] of each input file in ``key`` modified less than :data:`RECENT_NS`
    before ``now_ns``. Any later edit of another file moves its modification time past the
    one in the key; these few could change within the same tick, so their content is kept."""
    folder = os.path.realpath(root) + os.sep
    return [
        [entry[0], _checksum(entry[0])]
        for entry in key
        if isinstance(entry, list) and str(entry[0]).startswith(folder) and entry[2] > now_ns - RECENT_NS
    ]


def cache_file(root: str, environ: Mapping[str, str]) -> str:
    import zlib

    return os.path.join(cache_folder(environ), f"answers-{zlib.crc32(os.path.realpath(root).encode()):08x}.json")


def lookup(data: dict[str, Any], instant: datetime, team: str | None) -> list[dict[str, Any]] | None:
    """The whoisoncall rows at ``instant`` from compiled ``data``, or None if it cannot tell."""
    stamp = instant.timestamp()
    if not data["valid_from"] <= stamp < data["valid_until"]:
        return None
    rotations = [r for r in data["rotations"] if team is None or r["team"] == team]
    if not rotations:
        return None  # unknown team, or a team without rotations: the full path explains
    rows = []
    for rotation in rotations:
        found = None
        for start, end, row in rotation["slots"]:
            if start <= stamp < end:
                found = row
                break
        if found is None:
            return None
        from zoneinfo import ZoneInfo

        at = instant.astimezone(ZoneInfo(rotation["timezone"])).isoformat(timespec="seconds")
        rows.append({**found, "at": at})
    return rows


def plain_table(rows: list[dict[str, Any]], width: int | None = None) -> str:
    """Aligned columns without decoration, for pipes and scripts: the same text the full path prints."""
    from opsctl.answers.columns import render_plain
    from opsctl.answers.tables import answer_tables

    return render_plain(answer_tables(rows), width)


def _parse(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[str, str | None, str] | None:
    """(root, team, format) when argv is a whoisoncall this module can answer, else None."""
    args = list(argv)
    root = environ.get("OPSCTL_ROOT") or "."
    if len(args) >= 2 and args[0] == "--root":
        root, args = args[1], args[2:]
    elif args and args[0].startswith("--root="):
        root, args = args[0].split("=", 1)[1], args[1:]
    if not args or args[0] != "whoisoncall":
        return None
    team, fmt = None, "auto"
    rest = args[1:]
    while rest:
        option = rest.pop(0)
        name, _, value = option.partition("=")
        if name in ("--team", "--format") and not value:
            if not rest:
                return None
            value = rest.pop(0)
        if name == "--team":
            team = value
        elif name == "--format" and value in ("auto", "json", "plain", "table"):
            fmt = value
        else:
            return None  # --at, --pipeline, --help, anything else: the full path
    if fmt == "auto":
        fmt = "table" if sys.stdout.isatty() else "plain"
    return root, team, fmt


def try_answer(argv: Sequence[str], environ: Mapping[str, str], out: TextIO) -> bool:
    """Print the answer and return True, or return False for the full path to run."""
    try:
        parsed = _parse(argv, environ)
        if parsed is None:
            return False
        root, team, fmt = parsed
        with open(cache_file(root, environ), encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("key") != cache_key(root) or any(_checksum(path) != sum_ for path, sum_ in data["sums"]):
            return False
        rows = lookup(data, datetime.now(UTC), team)
        if rows is None:
            return False
        if fmt == "json":
            out.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        elif fmt == "plain":
            out.write(plain_table(rows, _width(environ, out)))
        else:
            from opsctl.answers.tables import answer_tables, render

            out.write(render(answer_tables(rows), boxed=True, color=out.isatty(), width=_width(environ, out)))
        out.flush()
        return True
    except Exception:  # a cache is never a reason to fail: the full path answers
        return False


def _width(environ: Mapping[str, str], out: TextIO) -> int | None:
    from opsctl.answers.columns import output_width

    return output_width(environ, out)


def compile_answers(root: str, rotations: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The cache's content; ``rotations`` as built by :func:`opsctl.answers.oncall.compiled_rotations`."""
    import time

    key = cache_key(root)
    return {
        "key": key,
        "sums": recent_sums(root, key, time.time_ns()),
        "valid_from": now.timestamp(),
        "valid_until": now.timestamp() + WINDOW_DAYS * 86400,
        "generated": now.astimezone(UTC).isoformat(timespec="seconds"),
        "rotations": rotations,
    }


def write_cache(root: str, data: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Write the compiled answers atomically; a cache that cannot be written is skipped."""
    import contextlib

    from opsctl.system.files import write_atomically

    with contextlib.suppress(OSError):
        write_atomically(cache_file(root, environ), json.dumps(data, ensure_ascii=False), make_folder=True)
