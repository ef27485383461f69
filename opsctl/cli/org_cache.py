"""One team's part of the org, without reading the rest of it: for `whoisoncall --team`,
`--pipeline`, `explain --team`, `schedule --team` and `fairness --team`.

Loading an org reads and checks every file, which grows with the whole org (a second or
more at 10,000 pipelines); the answer for one team depends only on that team's slice
(:func:`opsctl.model.team_slices`). So when a team-scoped command has loaded the whole org
and found it valid, it also writes every team's slice into one cache file; the next such
command reads only the slice it needs.

The cache is used only while its key matches: the path, size and modification time of
every input file (ownership.yaml and rotations/), of opsctl's own source files and of the
installed holiday library, the same key as the whoisoncall answer cache
(:func:`opsctl.cli.answer_cache.cache_key`). Any edit changes it, and the next command
loads the whole org again, so an answer never comes from a stale slice; a repository with
errors is never cached, so it is refused as before. The file is a pickle in the user's
own cache folder, read only by the user's own opsctl. Nothing here raises for a missing,
stale or unreadable cache: the caller loads the org.
"""

from __future__ import annotations

import os
import pickle
import zlib
from collections.abc import Mapping
from typing import Any

from opsctl.cli.answer_cache import cache_key
from opsctl.model import Org, team_slices
from opsctl.system.environment import cache_folder

FORMAT_VERSION = 1


def cache_file(root: str, environ: Mapping[str, str]) -> str:
    return os.path.join(cache_folder(environ), f"slices-{zlib.crc32(os.path.realpath(root).encode()):08x}.pickle")


def read_slice(root: str, environ: Mapping[str, str], *, team: str | None = None, pipeline: str | None = None) -> Org | None:
    """The slice of ``team`` (or of ``pipeline``'s team) when the cache is current, else None."""
    try:
        with open(cache_file(root, environ), "rb") as handle:
            data: dict[str, Any] = pickle.load(handle)
        if data.get("version") != FORMAT_VERSION or data.get("key") != cache_key(root):
            return None
        owner = data["pipelines"].get(pipeline) if pipeline is not None else team
        if owner is None or (team is not None and owner != team) or owner not in data["teams"]:
            return None  # unknown: the whole org says what is wrong, with a did-you-mean
        found = pickle.loads(data["teams"][owner])
        return found if isinstance(found, Org) else None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, KeyError, TypeError, ValueError):
        return None


def write_slices(root: str, environ: Mapping[str, str], org: Org) -> None:
    """Write every team's slice of ``org`` (loaded from ``root`` and valid); a cache that cannot be written is skipped."""
    import contextlib

    from opsctl.system.files import write_atomically

    data = {
        "version": FORMAT_VERSION,
        "key": cache_key(root),
        "pipelines": {pipeline.id: pipeline.team for pipeline in org.pipelines.values()},
        "teams": {team: pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL) for team, part in team_slices(org).items()},
    }
    with contextlib.suppress(OSError):
        write_atomically(cache_file(root, environ), pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL), make_folder=True)
