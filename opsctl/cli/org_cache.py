"""The org as last loaded, and one team's part of it without the rest: for the commands
that answer from the schedule (`whoisoncall`, `schedule`, `explain`, `fairness`).

Loading an org reads and checks every file, which grows with the whole org (seconds at
10,000 pipelines); the answer for one team depends only on that team's slice
(:func:`opsctl.model.team_slices`). So when such a command has loaded the whole org and
found it valid, it writes the org and every team's slice into one cache file; the next one
reads the org, or only the slice it needs (`--team`, `--pipeline`).

The cache is used only while its key matches: the path, size, modification time and a
checksum of the content of every input file (ownership.yaml and rotations/), and the path,
size and modification time of opsctl's own source files and of the installed holiday
library (:func:`full_key`, the whoisoncall answer cache's key and the checksums). Any edit
changes it, and the next command
loads the whole org again, so an answer never comes from a stale slice; a repository with
errors is never cached, so it is refused as before. An org read without its pipelines (by
the commands that need none) is kept marked so, and serves only those commands. The file is a pickle in the user's
own cache folder, read only by the user's own opsctl. Nothing here raises for a missing,
stale or unreadable cache: the caller loads the org.
"""

from __future__ import annotations

import os
import pickle
import zlib
from collections.abc import Collection, Mapping
from typing import Any

from opsctl.cli.answer_cache import cache_key
from opsctl.model import Org, team_slices
from opsctl.repo.parse_cache import ParseCache
from opsctl.system.environment import cache_folder

FORMAT_VERSION = 2
"""Bumped whenever the file changes shape (2: whether the org holds its pipelines)."""


def full_key(root: str) -> list[Any]:
    """The answer cache's key, and a checksum of each input file's content: an edit that keeps
    a file's size within the file system's clock tick is still seen."""
    key = cache_key(root)
    folder = os.path.realpath(root) + os.sep
    for entry in list(key):
        if isinstance(entry, list) and str(entry[0]).startswith(folder):
            with open(entry[0], "rb") as handle:
                key.append(zlib.crc32(handle.read()))
    return key


def cache_file(root: str, environ: Mapping[str, str]) -> str:
    return os.path.join(cache_folder(environ), f"slices-{zlib.crc32(os.path.realpath(root).encode()):08x}.pickle")


def _current(root: str, environ: Mapping[str, str], pipelines: bool) -> dict[str, Any] | None:
    """The cache file's content when it is current and holds pipelines if ``pipelines``; else None."""
    with open(cache_file(root, environ), "rb") as handle:
        data: dict[str, Any] = pickle.load(handle)
    if data.get("version") != FORMAT_VERSION or (pipelines and not data.get("with_pipelines")):
        return None
    return data if data.get("key") == full_key(root) else None


def read_slice(
    root: str, environ: Mapping[str, str], *, team: str | None = None, pipeline: str | None = None, pipelines: bool = True
) -> Org | None:
    """The slice of ``team`` (or of ``pipeline``'s team), or with neither the whole org
    (without its file locations), when the cache is current (and holds the pipelines, if
    ``pipelines`` or ``pipeline``); else None."""
    try:
        data = _current(root, environ, pipelines or pipeline is not None)
        if data is None:
            return None
        if team is None and pipeline is None:
            whole = pickle.loads(data["whole"])
            return whole if isinstance(whole, Org) else None
        owner = data["pipelines"].get(pipeline) if pipeline is not None else team
        if owner is None or (team is not None and owner != team) or data["teams"] is None or owner not in data["teams"]:
            return None  # unknown (the whole org says what is wrong, with a did-you-mean), or no slices written yet
        found = pickle.loads(data["teams"][owner])
        return found if isinstance(found, Org) else None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, KeyError, TypeError, ValueError):
        return None


def add_slices(root: str, environ: Mapping[str, str], *, pipelines: bool = True) -> Org | None:
    """The cached org when it is current (and holds the pipelines, if ``pipelines``), with
    every team's slice now written beside it; else None."""
    import contextlib

    from opsctl.system.files import write_atomically

    try:
        data = _current(root, environ, pipelines)
        if data is None:
            return None
        whole = pickle.loads(data["whole"])
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, KeyError, TypeError, ValueError):
        return None
    if not isinstance(whole, Org):
        return None
    data["teams"] = {team: pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL) for team, part in team_slices(whole).items()}
    with contextlib.suppress(OSError):
        write_atomically(cache_file(root, environ), pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), make_folder=True)
    return whole


def write_slices(root: str, environ: Mapping[str, str], org: Org, *, slices: bool = True, pipelines: bool = True) -> None:
    """Write ``org`` (loaded from ``root`` and valid, with its pipelines if ``pipelines``)
    and, with ``slices``, every team's slice of it; a cache that cannot be written is skipped."""
    import contextlib
    from dataclasses import replace

    from opsctl.model.locations import SourceMap
    from opsctl.system.files import write_atomically

    data = {
        "version": FORMAT_VERSION,
        "key": full_key(root),
        "with_pipelines": pipelines,
        "whole": pickle.dumps(replace(org, sources=SourceMap()), protocol=pickle.HIGHEST_PROTOCOL),
        "pipelines": {pipeline.id: pipeline.team for pipeline in org.pipelines.values()},
        "teams": {team: pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL) for team, part in team_slices(org).items()}
        if slices
        else None,
    }
    with contextlib.suppress(OSError):
        write_atomically(cache_file(root, environ), pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), make_folder=True)


# -- pieces of files as read, for every command that loads the org --------------------------


def _parsed_file(root: str, environ: Mapping[str, str]) -> str:
    return os.path.join(cache_folder(environ), f"parsed-{zlib.crc32(os.path.realpath(root).encode()):08x}.pickle")


def code_version() -> str:
    """Changes whenever opsctl's own code or the Python running it changes."""
    import sys

    from opsctl.cli.answer_cache import _stat_entries

    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    entries = _stat_entries(package, (".py",), recursive=True)
    return f"{sys.version}|{zlib.crc32(repr(entries).encode()):08x}"


def open_parse_cache(root: str, environ: Mapping[str, str]) -> ParseCache:
    """The pieces of the last run over ``root`` (:mod:`opsctl.repo.parse_cache`); empty when there are none."""
    try:
        with open(_parsed_file(root, environ), "rb") as handle:
            stored: bytes | None = handle.read()
    except OSError:
        stored = None
    return ParseCache(stored, code_version())


def save_parse_cache(root: str, environ: Mapping[str, str], cache: ParseCache) -> None:
    """Keep this run's pieces for the next; a cache that cannot be written is skipped."""
    import contextlib

    from opsctl.system.files import write_atomically

    data = cache.dump()
    if data is not None:
        with contextlib.suppress(OSError):
            write_atomically(_parsed_file(root, environ), data, make_folder=True)


# -- swaps resolved, for the next command over the same org ---------------------------------


def _swaps_file(root: str, environ: Mapping[str, str]) -> str:
    return os.path.join(cache_folder(environ), f"swaps-{zlib.crc32(os.path.realpath(root).encode()):08x}.pickle")


def read_swaps(root: str, environ: Mapping[str, str], rotations: Collection[str]) -> tuple[list[Any], dict[str, Any]]:
    """The inputs' key now, and the swap states (:meth:`Engine.swap_states`) of ``rotations``
    kept under that key; none when the key changed since (or nothing is kept). Each
    rotation's state is unpickled only when asked for (one team's answer asks for few)."""
    key = full_key(root)
    states: dict[str, Any] = {}
    try:
        stored = _stored_swaps(root, environ, key)
        for rotation in rotations:
            if rotation in stored:
                states[rotation] = pickle.loads(stored[rotation])
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, KeyError, TypeError, ValueError):
        return key, {}
    return key, states


def _stored_swaps(root: str, environ: Mapping[str, str], key: list[Any]) -> dict[str, bytes]:
    with open(_swaps_file(root, environ), "rb") as handle:
        data: dict[str, Any] = pickle.load(handle)
    states = data.get("states")
    if data.get("version") == FORMAT_VERSION and data.get("key") == key and isinstance(states, dict):
        return states
    return {}


def write_swaps(root: str, environ: Mapping[str, str], key: list[Any], states: dict[str, Any]) -> None:
    """Keep ``states`` (those resolved further than kept) under ``key``, the inputs they were
    resolved from, unless an input changed since; a cache that cannot be written is skipped."""
    import contextlib

    from opsctl.system.files import write_atomically

    try:
        if full_key(root) != key:
            return  # an input changed while the command ran: what it resolved may be of the old
        stored = dict(_stored_swaps(root, environ, key))
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, KeyError, TypeError, ValueError):
        stored = {}
    for rotation, state in states.items():
        stored[rotation] = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    data = {"version": FORMAT_VERSION, "key": key, "states": stored}
    with contextlib.suppress(OSError, pickle.PicklingError):
        write_atomically(_swaps_file(root, environ), pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), make_folder=True)
