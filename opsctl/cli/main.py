"""The command line: a thin skin over the library.

Each command parses its options, calls one library function and renders the result.
Commands live in :mod:`opsctl.cli` and are imported only when run, so that
``opsctl whoisoncall`` never loads what ``opsctl serve`` or ``opsctl schema`` need.
Exceptions become messages and exit codes here and nowhere else.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from opsctl import __version__
from opsctl.errors import OpsctlError, RepoError, exit_code

COMMANDS: dict[str, str] = {
    "validate": "opsctl.cli.repo:validate_command",
    "schema": "opsctl.cli.repo:schema_command",
    "init": "opsctl.cli.repo:init_command",
    "whoisoncall": "opsctl.cli.oncall:whoisoncall_command",
    "schedule": "opsctl.cli.oncall:schedule_command",
    "explain": "opsctl.cli.oncall:explain_command",
    "fairness": "opsctl.cli.oncall:fairness_command",
    "report": "opsctl.cli.report:report_command",
    "diff": "opsctl.cli.diff:diff_command",
    "runbooks": "opsctl.cli.runbooks:runbooks_group",
    "sync": "opsctl.cli.sync:sync_group",
    "notify": "opsctl.cli.sync:notify_group",
    "doctor": "opsctl.cli.sync:doctor_command",
    "serve": "opsctl.cli.router:serve_command",
    "route": "opsctl.cli.router:route_command",
    "alerts": "opsctl.cli.router:alerts_group",
}
"""Command name → ``module:attribute`` of its click command."""
WITHOUT_COLLECTOR = frozenset({"validate", "whoisoncall", "schedule", "explain", "fairness", "diff"})
"""Commands run with the cyclic garbage collector off: each builds a large acyclic org and its
answers once and exits (a year's schedule of a 10,000-pipeline org: a quarter less CPU
time, bench/scale_bench.py); reference counting still frees what they drop. Not the
long-running ones (`serve`), those that talk to services, nor `runbooks` (templates make
cycles: no faster, more memory)."""


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            from opsctl.model.spelling import did_you_mean

            ctx.fail(f"no such command {name!r}{did_you_mean(name, COMMANDS)}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RepoError as exc:
            from opsctl.cli.findings import render_text

            click.echo(render_text(exc.findings, exc.sources), err=True)
            click.echo(f"opsctl: {exc}", err=True)
            ctx.exit(exit_code(exc))
        except OpsctlError as exc:
            if str(exc):
                click.echo(f"opsctl: {exc}", err=True)
            ctx.exit(exit_code(exc))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:  # never a traceback for users; OPSCTL_DEBUG=1 shows it
            from opsctl.system.environment import current, debug

            if debug(current()):
                raise
            click.echo(
                f"opsctl: internal error: {type(exc).__name__}: {exc} (run with OPSCTL_DEBUG=1 for the traceback)", err=True
            )
            ctx.exit(exit_code(exc))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False),
    envvar="OPSCTL_ROOT",
    help="The ops repository (default: $OPSCTL_ROOT, else the current directory).",
)
@click.version_option(__version__, prog_name="opsctl")
@click.pass_context
def cli(ctx: click.Context, root: str | None) -> None:
    """On-call and ownership for data teams, kept as code.

    Reads ownership.yaml, rotations/, service_catalog/ and runbooks/ from an ops
    repository and answers who owns what and who is on call, offline.
    """
    from opsctl.cli.runtime import Runtime

    if ctx.invoked_subcommand in WITHOUT_COLLECTOR:
        import gc

        gc.disable()
    ctx.obj = Runtime(root)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    try:
        cli.main(prog_name="opsctl")
    except BrokenPipeError as exc:  # `opsctl schedule | head`
        sys.stderr.close()
        sys.exit(exit_code(exc))
