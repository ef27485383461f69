"""`opsctl validate`, `opsctl schema` and `opsctl init`."""

from __future__ import annotations

import click

from opsctl.cli.runtime import runtime


@click.command("validate")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for pull-request annotations.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--at", "at", metavar="TIME", help="Check coverage from TIME instead of now.")
def validate_command(fmt: str, strict: bool, at: str | None) -> None:
    """Check the ops repository and print every problem at once.

    Each problem is `path:line:col: error|warning: message`, with the line and a caret.
    Exit 0 when there are no errors (warnings allowed unless --strict), 1 on errors.
    """
    from opsctl.cli.findings import render_github, render_json, render_text
    from opsctl.errors import raise_for_findings
    from opsctl.model.findings import summary
    from opsctl.validate import validate

    rt = runtime()
    now = rt.when(at)
    result = rt.load()
    findings = validate(result, now=now, holidays=rt.calendar, cache=rt.cache)
    if fmt == "json":
        click.echo(render_json(findings))
    elif fmt == "github":
        if findings:
            click.echo(render_github(findings))
    elif findings:
        click.echo(render_text(findings, result.org.sources))
    click.echo(f"opsctl validate: {summary(findings)}", err=True)
    raise_for_findings(findings, strict=strict)


@click.command("schema")
@click.argument("kind", required=False, type=click.Choice(["ownership", "rotation", "time_off", "overrides", "service_catalog"]))
@click.option("--out", "out", type=click.Path(file_okay=False), help="Write <kind>.schema.json files into this folder.")
def schema_command(kind: str | None, out: str | None) -> None:
    """Print the JSON Schema of the files (all kinds, or one KIND).

    The repository's YAML files point editors at these with a first-line comment:
    `# yaml-language-server: $schema=schemas/ownership.schema.json`.
    """
    from pathlib import Path

    from opsctl.repo.schema import all_schemas, dumps, schema_filename, schema_for

    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        kinds = [kind] if kind else list(all_schemas())
        for name in kinds:
            target = folder / schema_filename(name)
            target.write_text(dumps(schema_for(name)), encoding="utf-8")
            click.echo(f"wrote {target}", err=True)
        return
    click.echo(dumps(schema_for(kind) if kind else all_schemas()), nl=False)


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--team", "team_id", default="data-eng", show_default=True, help="Id of the first team.")
@click.option("--team-name", help="Display name of the first team [default: from the id: analytics → Analytics].")
@click.option("--timezone", "zone", default="Europe/Berlin", show_default=True, help="IANA time zone of the team.")
@click.option("--force", is_flag=True, help="Write even if the folder already has an ownership.yaml.")
def init_command(directory: str, team_id: str, team_name: str | None, zone: str, force: bool) -> None:
    """Start a new ops repository in DIRECTORY that passes `opsctl validate`."""
    from pathlib import Path

    from opsctl.repo.scaffold import scaffold

    rt = runtime()
    written = scaffold(Path(directory), team_id=team_id, team_name=team_name, zone=zone, today=rt.now.date(), force=force)
    for path in written:
        click.echo(f"wrote {path}", err=True)
    click.echo(f"next: edit {Path(directory) / 'ownership.yaml'}, then run `opsctl --root {directory} validate`", err=True)
