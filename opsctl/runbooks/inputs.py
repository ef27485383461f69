"""What the pages are made of, read from files: the templates and the team's notes.

Templates and assets ship with the package (``opsctl/runbooks/templates/``); an ops
repository overrides any of them, file by file, by putting a file of the same name in
``runbooks/templates/``, and may add partials of its own for its templates to include.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from opsctl.errors import RepoError, UsageError
from opsctl.model import Org
from opsctl.model.findings import error
from opsctl.model.locations import Location
from opsctl.model.spelling import did_you_mean
from opsctl.repo.loader import RUNBOOKS_DIR, RepoFiles
from opsctl.runbooks.pages import note_paths

if TYPE_CHECKING:
    from jinja2 import BytecodeCache

TEMPLATES_DIR = f"{RUNBOOKS_DIR}/templates"
TEMPLATE_SUFFIXES = (".j2", ".css", ".js")
PACKAGE_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class TemplateSource:
    """A template or asset: its name as templates refer to it, its text and the file it was read from."""

    name: str
    text: str
    path: str
    """For error messages: repository-relative for the repository's templates, the package file otherwise."""


@cache
def _package_templates() -> dict[str, tuple[str, str]]:
    found = {}
    for path in sorted(PACKAGE_TEMPLATES.rglob("*")):
        if path.is_file() and path.suffix in TEMPLATE_SUFFIXES:
            found[path.relative_to(PACKAGE_TEMPLATES).as_posix()] = (path.read_text("utf-8"), str(path))
    return found


def read_templates(files: RepoFiles) -> dict[str, TemplateSource]:
    """The package's templates and assets, each replaced by the repository's file of the same name."""
    templates = {name: TemplateSource(name, text, path) for name, (text, path) in _package_templates().items()}
    for path in repo_templates(files):
        name = path.removeprefix(TEMPLATES_DIR + "/")
        templates[name] = TemplateSource(name, _text(files, path), path)
    return templates


def shipped_templates() -> list[str]:
    """Names of the templates and assets that come with opsctl."""
    return sorted(_package_templates())


def start_override(root: Path, name: str) -> Path:
    """Copy the shipped template ``name`` into the repository's ``runbooks/templates/``, to
    edit; the path written. :class:`UsageError` for an unknown name or an existing file."""
    shipped = _package_templates()
    if name not in shipped:
        raise UsageError(f"no template named {name!r}{did_you_mean(name, shipped)}; `opsctl runbooks template` lists them")
    target = root / TEMPLATES_DIR / name
    if target.exists():
        raise UsageError(f"{TEMPLATES_DIR}/{name} exists already: edit it, or delete it to start again from the shipped one")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(shipped[name][0], encoding="utf-8")
    return target


def repo_templates(files: RepoFiles) -> list[str]:
    """Paths of the repository's own templates and assets."""
    return files.list_files(TEMPLATES_DIR, TEMPLATE_SUFFIXES, recursive=True)


def bytecode_cache(fmt: str, cache: Path | None) -> BytecodeCache | None:
    """Compiled templates of one output format, kept in ``<cache>/templates/<fmt>`` between runs.

    Compiling the templates costs about 0.1 s a run. Jinja2 checks each compiled template
    against its text, so an edited template is compiled again; a folder per format,
    because a template compiles differently where HTML is escaped. None without a cache
    folder, or when the folder cannot be made.
    """
    from jinja2 import FileSystemBytecodeCache

    if cache is None:
        return None
    folder = cache / "templates" / fmt
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


def read_notes(files: RepoFiles, org: Org) -> dict[str, str]:
    """Path → text of every notes file the pages render in that exists.

    A pipeline's notes are optional; a catalog service's runbook that does not exist is
    already an error of the loader, so the command never gets here with one missing.
    """
    notes = {}
    for path in sorted(set(note_paths(org).values())):
        if files.exists(path):
            notes[path] = _text(files, path)
    return notes


def _text(files: RepoFiles, path: str) -> str:
    raw = files.read(path) or b""
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RepoError([error("not UTF-8 text", Location(path, line, 1), code="encoding")], None) from None
