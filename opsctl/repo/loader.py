"""Load an ops repository into an :class:`~opsctl.model.Org`.

The loader reads files through a :class:`RepoFiles` (the working tree, or a git revision
for ``opsctl diff``), converts each with :class:`~opsctl.repo.yaml_reader.Converter`, merges
them, and runs the reference checks every command relies on
(:mod:`opsctl.repo.references`). It never raises for bad input: every problem is a finding.
"""

from __future__ import annotations

import functools
import gc
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from yaml.nodes import Node

from opsctl.errors import RepoError
from opsctl.model import (
    CatalogFile,
    Org,
    OverridesFile,
    OwnershipFile,
    Rotation,
    Settings,
    TimeOffFile,
)
from opsctl.model.findings import Finding, error, sorted_findings
from opsctl.model.locations import Location, SourceMap
from opsctl.repo import references as integrity
from opsctl.repo.parse_cache import ParseCache, Piece, shifted
from opsctl.repo.placeholders import empty_sections, markers_in_text
from opsctl.repo.root import resolve_root
from opsctl.repo.yaml_reader import INVALID, Batch, Batched, Converter, Unbatchable, parse, read_fields, split_batches

OWNERSHIP = "ownership.yaml"
ROTATIONS_DIR = "rotations"
TIME_OFF = "rotations/time_off.yaml"
OVERRIDES = "rotations/overrides.yaml"
CATALOG_DIR = "service_catalog"
RUNBOOKS_DIR = "runbooks"
_SPECIAL_ROTATION_FILES = {"time_off", "overrides"}
_ID_LINE = re.compile(r"^id:[ \t]*['\"]?([a-z0-9][a-z0-9_.-]*)", re.MULTILINE)
YAML_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = {OWNERSHIP: 32 * 2**20}
"""The largest file read, by path: ownership.yaml holds every pipeline (10,000 take 12 MB)."""
DEFAULT_MAX_FILE_BYTES = 4 * 2**20
"""The largest of any other file: a rotation, time off (20,000 entries take 1.5 MB), a catalog."""


class RepoFiles(Protocol):
    """Read access to the files of an ops repository; paths are relative, with ``/``."""

    where: str
    """Where the files are, in words: a folder, or a folder at a git revision."""

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""

    def list_files(self, directory: str, suffixes: tuple[str, ...] = YAML_SUFFIXES, *, recursive: bool = False) -> list[str]:
        """Paths of the files in ``directory`` (and below, when ``recursive``) with one of ``suffixes``, sorted."""

    def exists(self, path: str) -> bool:
        """Whether a file exists."""

    def size(self, path: str) -> int | None:
        """The file's size in bytes, or None when it does not exist."""


class WorkingTree:
    """The files on disk under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root.resolve())
        """The folder, for messages about what is missing from it."""

    def read(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def list_files(self, directory: str, suffixes: tuple[str, ...] = YAML_SUFFIXES, *, recursive: bool = False) -> list[str]:
        folder = self.root / directory
        if not folder.is_dir():
            return []
        entries = folder.rglob("*") if recursive else folder.iterdir()
        return sorted(
            entry.relative_to(self.root).as_posix() for entry in entries if entry.suffix in suffixes and entry.is_file()
        )

    def exists(self, path: str) -> bool:
        return (self.root / path).is_file()

    def size(self, path: str) -> int | None:
        try:
            return (self.root / path).stat().st_size
        except OSError:
            return None


class MemoryFiles:
    """Files held in memory: a git revision read by `opsctl diff`, or a test's repository."""

    def __init__(self, files: dict[str, bytes | str], where: str = "the repository") -> None:
        self.files = {path: data.encode("utf-8") if isinstance(data, str) else data for path, data in files.items()}
        self.where = where

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def list_files(self, directory: str, suffixes: tuple[str, ...] = YAML_SUFFIXES, *, recursive: bool = False) -> list[str]:
        prefix = directory.rstrip("/") + "/"
        found = []
        for path in self.files:
            if not path.startswith(prefix) or not path.endswith(suffixes):
                continue
            if recursive or "/" not in path[len(prefix) :]:
                found.append(path)
        return sorted(found)

    def exists(self, path: str) -> bool:
        return path in self.files

    def size(self, path: str) -> int | None:
        data = self.files.get(path)
        return None if data is None else len(data)


@dataclass
class LoadResult:
    """The org (its valid parts) and every finding made while loading it."""

    org: Org
    findings: list[Finding] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)
    """Ids left out for their errors."""
    documents: Mapping[str, Node] = field(default_factory=dict)
    """The parsed YAML of each file that parses, for what looks at how it was written (composed again on use)."""
    files: RepoFiles | None = None
    unreadable: set[str] = field(default_factory=set)
    """Files that are there (or required) but could not be read as a whole: missing, not
    text, not YAML, empty or of the wrong shape. Checks that would only echo that skip them."""
    placeholders: list[Finding] = field(default_factory=list)
    """Unfilled placeholders in the YAML files (found when loading with ``placeholders=True``)."""

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)

    def require_ok(self) -> Org:
        """The org, or :class:`RepoError` with the errors when it has any."""
        if not self.ok:
            raise RepoError(sorted_findings(f for f in self.findings if f.is_error), self.org.sources)
        return self.org


class Documents(Mapping[str, Node]):
    """The YAML node tree of each file that parsed, composed again when asked for.

    A node tree takes some fifty times the memory of its text, so the loader keeps only
    the texts; the few that look at the trees (the runbooks' page history) pay for them.
    """

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self._nodes: dict[str, Node] = {}

    def __getitem__(self, path: str) -> Node:
        if path not in self._nodes:
            node, _ = parse(path, self.texts[path])
            assert node is not None  # only texts that parsed are kept
            self._nodes[path] = node
        return self._nodes[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def __len__(self) -> int:
        return len(self.texts)


class _Reader:
    """Reads and converts the files of one repository."""

    def __init__(self, files: RepoFiles, *, placeholders: bool, cache: ParseCache | None = None, pipelines: bool = True) -> None:
        self.files = files
        self.skip: frozenset[str] = frozenset() if pipelines else frozenset({"pipelines"})
        """Keys of ownership.yaml not read (``pipelines`` for the commands that need none)."""
        self.sources = SourceMap()
        self.findings: list[Finding] = []
        self.broken: set[str] = set()
        self.documents = Documents()
        self.unreadable: set[str] = set()
        self.texts: dict[str, str] = {}
        # With a cache, placeholders are always found, so that every cached piece holds them.
        self.placeholders: list[Finding] | None = [] if placeholders or cache is not None else None
        self.markers = placeholders
        """Whether to scan the texts for placeholder markers (not kept in the cache: a scan is cheap)."""
        self.cache = cache

    def document(self, path: str, cls: type, *, required: bool = False) -> Any:
        value = self._document(path, cls, required=required)
        if value is None and cls is Rotation:
            # a rotation file that could not be read is named after its id, usually; its
            # own `id:` line, when it has one, says for sure
            self.broken.add(Path(path).stem)
            written = _ID_LINE.search(self.texts.get(path, ""))
            if written:
                self.broken.add(written.group(1))
        if value is None and (required or self.files.exists(path)):
            self.unreadable.add(path)
        return value

    def _document(self, path: str, cls: type, *, required: bool) -> Any:
        limit = MAX_FILE_BYTES.get(path, DEFAULT_MAX_FILE_BYTES)
        size = self.files.size(path) or 0
        if size > limit:
            self.findings.append(
                error(
                    f"{path} is {_megabytes(size)}, more than the {_megabytes(limit)} opsctl reads in one file",
                    Location(path, 1, 1),
                    hint="check what wrote it: a file this large is most likely generated by mistake",
                    code="file-too-large",
                )
            )
            return None
        raw = self.files.read(path)
        if raw is None:
            if required:
                self.findings.append(
                    error(
                        f"no {path} in {self.files.where}",
                        Location(path),
                        hint="point --root (or $OPSCTL_ROOT) at the ops repository, or run `opsctl init DIR` to start one",
                        code="missing-file",
                    )
                )
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = raw[: exc.start]
            line = before.count(b"\n") + 1
            self.findings.append(error("not UTF-8 text", Location(path, line, exc.start - before.rfind(b"\n")), code="encoding"))
            return None
        text = text.removeprefix("\ufeff")
        self.texts[path] = text
        self.sources.add_text(path, text, read_fields)
        if self.markers and self.placeholders is not None:
            self.placeholders.extend(markers_in_text(path, text))
        skip = self.skip if cls is OwnershipFile else frozenset()
        if len(text) > BATCHED_FROM:
            batched = split_batches(text)
            if batched is not None:
                value = self._batched(path, cls, text, batched, skip)
                if value is not _WHOLE:
                    return value
        how = f"{cls.__name__}/whole" + "".join(f"/-{key}" for key in sorted(skip))
        key = self.cache.key(path, how, text) if self.cache else b""
        piece = self.cache.get(key, 0) if self.cache else None
        if piece is not None:
            self.documents.texts[path] = text
            value, invalid = self._replay(path, piece, 0, 0)
            return None if invalid else value
        node, problem = parse(path, text)
        if problem is not None:
            self.findings.append(problem)
            return None
        if node is None:
            if cls in (TimeOffFile, OverridesFile):
                return cls()  # a file of comments only: nothing planned yet
            self.findings.append(error(f"{path} is empty", Location(path, 1, 1), code="empty-file"))
            return None
        self.documents.texts[path] = text
        converter = Converter(path, self.sources, self.findings, self.broken)

        def read() -> tuple[Any, bool]:
            if self.placeholders is not None:
                self.placeholders.extend(empty_sections(path, node, lists_may_be_empty=path in (TIME_OFF, OVERRIDES)))
            value = converter.build(node, cls, _what(cls), skip=skip)
            return (None, True) if value is INVALID else (value, False)

        value, invalid = self._recorded(converter, path, key, 0, 0, read)
        return None if invalid else value

    def _recorded(self, converter: Converter, path: str, key: bytes, line: int, index: int, read: Callable[[], Any]) -> Any:
        """``read()``, and what it found kept in the cache as the piece ``key`` that starts at ``line`` and ``index``."""
        if self.cache is None:
            return read()
        findings, placeholders, broken = len(self.findings), len(self.placeholders or ()), set(self.broken)
        registered: list[tuple[object, Location, int, int]] = []
        converter.registered = registered
        try:
            value = read()
        finally:
            converter.registered = None
        self.cache.put(
            key,
            Piece(
                value,
                line,
                shifted(self.findings[findings:], path, -line),
                shifted((self.placeholders or [])[placeholders:], path, -line),
                sorted(self.broken - broken),
                [(obj, at.line - line, at.column, start - index, end - index) for obj, at, start, end in registered],
            ),
        )
        return value

    def _replay(self, path: str, piece: Piece, line: int, index: int) -> Any:
        """What reading ``piece`` found, at ``line`` and ``index`` of its file."""
        self.findings.extend(shifted(piece.findings, path, line))
        if self.placeholders is not None:
            self.placeholders.extend(shifted(piece.placeholders, path, line))
        self.broken.update(piece.broken)
        for obj, at_line, column, start, end in piece.registered:
            self.sources.register(obj, Location(path, at_line + line, column), start + index, end + index)
        return piece.value

    def _batch(
        self, converter: Converter, path: str, cls: type, text: str, batch: Batch, read: Callable[[], list[Any]]
    ) -> list[Any]:
        """A batch's items, from the cache when its text was read before (:attr:`Converter.around_batch`)."""
        assert self.cache is not None
        how = f"{cls.__name__}/batch/{batch.first}/{batch.count}/{batch.tail}"
        key = self.cache.key(path, how, text[batch.start : batch.end])
        piece = self.cache.get(key, batch.line)
        if piece is not None:
            values, invalid = self._replay(path, piece, batch.line, batch.start)
        else:

            def encoded() -> tuple[list[Any], list[int]]:
                items = read()
                return [None if v is INVALID else v for v in items], [i for i, v in enumerate(items) if v is INVALID]

            values, invalid = self._recorded(converter, path, key, batch.line, batch.start, encoded)
        items = list(values)
        for i in invalid:
            items[i] = INVALID
        return items

    def _batched(self, path: str, cls: type, text: str, batched: Batched, skip: frozenset[str]) -> Any:
        """The document read with its long lists composed a batch at a time, or :data:`_WHOLE`
        to compose it whole (what it found so far is taken back: the whole reading says it)."""
        findings, broken = len(self.findings), set(self.broken)
        placeholders = len(self.placeholders) if self.placeholders is not None else 0
        skeleton, problem = parse(path, batched.skeleton)
        if problem is not None or skeleton is None:
            return _WHOLE
        converter = Converter(path, self.sources, self.findings, self.broken)
        lists_may_be_empty = path in (TIME_OFF, OVERRIDES)
        if self.placeholders is not None:
            found = self.placeholders
            found.extend(empty_sections(path, skeleton, lists_may_be_empty=lists_may_be_empty, skip=frozenset(batched.lists)))
            converter.on_batch = lambda node, line: found.extend(empty_sections(path, node, line_base=line))
        if self.cache is not None:
            converter.around_batch = functools.partial(self._batch, converter, path, cls, text)
        try:
            value = converter.build(skeleton, cls, _what(cls), batched, text, skip)
        except (Unbatchable, yaml.YAMLError):
            del self.findings[findings:]
            self.broken.clear()
            self.broken.update(broken)
            if self.placeholders is not None:
                del self.placeholders[placeholders:]
            return _WHOLE
        self.documents.texts[path] = text
        return None if value is INVALID else value


_WHOLE: Any = object()
"""Compose the document whole (see :meth:`_Reader._batched`)."""
BATCHED_FROM = 256 * 1024
"""Documents longer than this (in characters) have their long lists composed a batch at a time."""


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _what(cls: type) -> str:
    return {
        OwnershipFile: "ownership file",
        Rotation: "rotation",
        TimeOffFile: "time-off file",
        OverridesFile: "overrides file",
        CatalogFile: "service catalog",
    }.get(cls, cls.__name__)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects.

    YAML nodes and model values make no cycles, but each allocation burst triggers
    collections that rescan everything built so far: on a 1 MB ownership.yaml that tripled
    the parse time (130 ms → 400 ms, bench/validate_bench.py). Afterwards the objects are
    frozen out of the collector's sight (re-enabling it would otherwise scan all of them at
    once, 0.2 s); reference counting still frees them when the org is dropped.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def load(
    files: RepoFiles,
    *,
    catalog: bool = True,
    placeholders: bool = True,
    cache: ParseCache | None = None,
    pipelines: bool = True,
) -> LoadResult:
    """Read every file of the repository and check references.

    ``catalog=False`` skips ``service_catalog/`` for commands that do not need it,
    ``placeholders=False`` the search for unfilled placeholders (only validate reports them),
    and ``pipelines=False`` the pipelines of ownership.yaml (the org then has none, and no
    finding about them: the commands that answer from the schedule need none).
    With ``cache``, pieces of files whose text is unchanged since they were read into it
    are taken from it (and the pieces read are added).
    """
    with _collector_paused():
        return _load(files, catalog=catalog, placeholders=placeholders, cache=cache, pipelines=pipelines)


def _load(files: RepoFiles, *, catalog: bool, placeholders: bool, cache: ParseCache | None, pipelines: bool) -> LoadResult:
    reader = _Reader(files, placeholders=placeholders, cache=cache, pipelines=pipelines)
    ownership: OwnershipFile | None = reader.document(OWNERSHIP, OwnershipFile, required=True)
    rotations: list[Rotation] = []
    for path in files.list_files(ROTATIONS_DIR):
        if Path(path).stem in _SPECIAL_ROTATION_FILES:
            continue
        rotation = reader.document(path, Rotation)
        if rotation is not None:
            rotations.append(rotation)
    time_off: TimeOffFile | None = reader.document(TIME_OFF, TimeOffFile)
    overrides: OverridesFile | None = reader.document(OVERRIDES, OverridesFile)
    catalogs: list[CatalogFile] = []
    if catalog:
        for path in files.list_files(CATALOG_DIR):
            entry = reader.document(path, CatalogFile)
            if entry is not None:
                catalogs.append(entry)

    findings = reader.findings
    sources = reader.sources
    org = Org(
        settings=ownership.settings if ownership else Settings(),
        people=integrity.unique_by_id("person", ownership.people if ownership else (), sources, findings),
        teams=integrity.unique_by_id("team", ownership.teams if ownership else (), sources, findings),
        pipelines=integrity.unique_by_id("pipeline", ownership.pipelines if ownership else (), sources, findings),
        rotations=integrity.unique_by_id("rotation", rotations, sources, findings),
        time_off=time_off.time_off if time_off else (),
        overrides=overrides.overrides if overrides else (),
        catalogs=tuple(catalogs),
        sources=sources,
    )
    if ownership is not None:
        # without people and teams every reference would be reported: say the one thing that matters
        findings.extend(integrity.check(org, files, reader.broken, catalog=catalog))
    return LoadResult(
        org,
        findings,
        reader.broken,
        reader.documents,
        files,
        reader.unreadable,
        (reader.placeholders or []) if placeholders else [],
    )


def load_working_tree(
    root: str | os.PathLike[str] | None = None, *, catalog: bool = True, placeholders: bool = True
) -> LoadResult:
    return load(WorkingTree(resolve_root(root)), catalog=catalog, placeholders=placeholders)
