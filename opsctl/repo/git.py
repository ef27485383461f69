"""Read an ops repository as it was at a git revision, for `opsctl diff`.

Two git processes whatever the size: ``ls-tree`` lists the files, one ``cat-file --batch``
reads them all. The ops repository may be a folder inside the git repository.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

from opsctl.errors import GitError
from opsctl.repo.loader import CATALOG_DIR, OWNERSHIP, ROTATIONS_DIR, RUNBOOKS_DIR, MemoryFiles

TRACKED = (OWNERSHIP, ROTATIONS_DIR, CATALOG_DIR, RUNBOOKS_DIR)


def run_git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]}: {message[-1] if message else 'failed'}")
    return done.stdout


def is_repository(root: Path) -> bool:
    try:
        return run_git(root, "rev-parse", "--is-inside-work-tree").strip() == b"true"
    except GitError:
        return False


def short(root: Path, revision: str) -> str:
    """An abbreviated commit id for ``revision``, for headings."""
    try:
        return run_git(root, "rev-parse", "--short", revision).decode().strip()
    except GitError:
        return revision


def default_base(root: Path) -> str:
    """The merge base of HEAD with the default branch, else HEAD."""
    candidates = []
    with contextlib.suppress(GitError):
        candidates.append(run_git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD").decode().strip())
    candidates += ["origin/main", "origin/master", "main", "master"]
    for branch in candidates:
        try:
            run_git(root, "rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}")
        except GitError:
            continue
        try:
            return run_git(root, "merge-base", "HEAD", branch).decode().strip()
        except GitError:
            continue
    return "HEAD"


def files_at(root: Path, revision: str) -> MemoryFiles:
    """The ops repository's files at ``revision``."""
    if not is_repository(root):
        raise GitError(f"{root} is not inside a git repository: opsctl diff compares against a git revision")
    try:
        commit = run_git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(f"unknown revision {revision!r}") from None
    prefix = run_git(root, "rev-parse", "--show-prefix").decode().strip()
    listing = run_git(root, "ls-tree", "-r", "-z", "--name-only", "--full-tree", commit, "--", *(prefix + p for p in TRACKED))
    paths = [p for p in listing.decode().split("\0") if p]
    where = f"{prefix or 'the repository root'} at {revision}"
    if not paths:
        return MemoryFiles({}, where)
    batch = run_git(root, "cat-file", "--batch", stdin="".join(f"{commit}:{p}\n" for p in paths).encode())
    files: dict[str, bytes | str] = {}
    offset = 0
    for path in paths:
        header_end = batch.index(b"\n", offset)
        header = batch[offset:header_end].split()
        if len(header) < 3 or header[1] != b"blob":
            raise GitError(f"git cat-file: unexpected answer for {path}")
        size = int(header[2])
        start = header_end + 1
        files[path.removeprefix(prefix)] = batch[start : start + size]
        offset = start + size + 1
    return MemoryFiles(files, where)
