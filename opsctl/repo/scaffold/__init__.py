"""`opsctl init`: a minimal ops repository that passes `opsctl validate`.

The files under ``files/`` are :class:`string.Template` texts; ``$team`` and friends are
filled in from the options. ``gitignore`` becomes the repository's ``.gitignore`` (the
rendered runbook site, the alert router's database) unless it has one. The JSON Schemas are generated next to them so editors
autocomplete the new files at once.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from string import Template

from opsctl.errors import UsageError
from opsctl.model.spelling import ID_PATTERN, check_timezone

_FILES = Path(__file__).parent / "files"
_GITIGNORE = Path(__file__).parent / "gitignore"


def scaffold(
    target: Path, *, team_id: str, team_name: str | None = None, zone: str, today: date, force: bool = False
) -> list[Path]:
    """Write the starter files into ``target``; returns what was written.

    Without ``team_name`` the team is named after its id (``data-eng`` → ``Data Eng``), and
    so are the org, the rotation and the service.
    """
    import re

    if not re.match(ID_PATTERN, team_id):
        raise UsageError(f"--team: {team_id!r} is not an id of lowercase letters, digits, '-', '_' or '.'")
    problem = check_timezone(zone)
    if problem:
        raise UsageError(f"--timezone: {problem}")
    if (target / "ownership.yaml").exists() and not force:
        raise UsageError(f"{target} already has an ownership.yaml (use --force to overwrite)")
    # last week's Monday: the first handoff is always in the past, whatever the hour and zone
    monday = today - timedelta(days=today.weekday() + 7)
    if team_name is None:
        team_name = " ".join(part[:1].upper() + part[1:] for part in re.split(r"[-_.]+", team_id) if part)
    values = {
        "team": team_id,
        "team_name": team_name,
        "timezone": zone,
        "start": monday.isoformat(),
        "service": f"{team_id}-pipelines",
    }
    written: list[Path] = []
    for source in sorted(_FILES.rglob("*")):
        if not source.is_file():
            continue
        relative = Template(source.relative_to(_FILES).as_posix()).safe_substitute(values)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(Template(source.read_text("utf-8")).safe_substitute(values), encoding="utf-8")
        written.append(destination)
    ignore = target / ".gitignore"
    if not ignore.exists():
        ignore.write_text(_GITIGNORE.read_text("utf-8"), encoding="utf-8")
        written.append(ignore)
    from opsctl.repo.schema import all_schemas, dumps, schema_filename

    schemas = target / "schemas"
    schemas.mkdir(exist_ok=True)
    for kind, schema in all_schemas().items():
        path = schemas / schema_filename(kind)
        path.write_text(dumps(schema), encoding="utf-8")
        written.append(path)
    return written
