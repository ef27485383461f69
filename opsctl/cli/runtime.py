"""What every command shares: the repository, the clock and the holiday cache.

This is the edge of the program: the only place that reads the clock, the environment
and the terminal. The library below it takes all of them as arguments.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, tzinfo
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opsctl.answers.columns import Table
    from opsctl.engine.schedule.resolve import Engine
    from opsctl.model import Org
    from opsctl.repo.loader import LoadResult
    from opsctl.system.holidays import CachedHolidays


class Runtime:
    """Per-invocation state, created by the root command."""

    def __init__(self, root: str | None) -> None:
        from opsctl.system.environment import current

        self._root = root
        self.env = current()
        self.now = datetime.now(UTC)
        self._calendar: CachedHolidays | None = None
        self._slice: Org | None = None
        self._engines: list[tuple[Engine, list[Any], dict[str, int]]] = []
        """Engines made, with the inputs' key and how far each rotation's swaps were resolved when read."""

    @cached_property
    def cache(self) -> Path:
        """The cache folder (holidays, compiled answers and templates)."""
        from opsctl.system.environment import cache_folder

        return Path(cache_folder(self.env))

    @cached_property
    def root(self) -> Path:
        from opsctl.repo.root import resolve_root

        return resolve_root(self._root)

    @cached_property
    def zone(self) -> tzinfo:
        from opsctl.system.environment import local_zone

        return local_zone()

    def when(self, text: str | None, option: str = "--at") -> datetime:
        """An option's time, or now."""
        if text is None:
            return self.now
        from opsctl.answers.when import parse_when

        return parse_when(text, now=self.now, zone=self.zone, option=option)

    def load(self, *, catalog: bool = True, placeholders: bool = True, pipelines: bool = True) -> LoadResult:
        """Every file of the repository, read with the cache of pieces read before (:mod:`opsctl.cli.org_cache`)."""
        from opsctl.cli.org_cache import open_parse_cache, save_parse_cache
        from opsctl.repo.loader import WorkingTree, load

        cache = open_parse_cache(str(self.root), self.env)
        result = load(WorkingTree(self.root), catalog=catalog, placeholders=placeholders, cache=cache, pipelines=pipelines)
        save_parse_cache(str(self.root), self.env, cache)
        return result

    def org(self, *, catalog: bool = False, team: str | None = None, pipeline: str | None = None, pipelines: bool = True) -> Org:
        """The org, or :class:`~opsctl.errors.RepoError` when the repository has errors.

        Without the catalog, from the cache of the org as last loaded when no input changed
        since (:mod:`opsctl.cli.org_cache`); with ``team`` or ``pipeline``, possibly only
        that team's slice of it: enough for answers about that team alone. With
        ``pipelines=False`` (and no ``pipeline``) the org may lack its pipelines, and a
        mistake in one does not stop the command.
        """
        scoped = team is not None or pipeline is not None
        pipelines = pipelines or pipeline is not None
        if not catalog:
            from opsctl.cli.org_cache import add_slices, read_slice

            cached = read_slice(str(self.root), self.env, team=team, pipeline=pipeline, pipelines=pipelines)
            if cached is not None:
                if scoped:
                    self._slice = cached
                return cached
            whole = add_slices(str(self.root), self.env, pipelines=pipelines) if scoped else None
            if whole is not None:
                return whole  # the org was cached by a command that needed no slices; now they are there too
        org = self.load(catalog=catalog, placeholders=False, pipelines=pipelines).require_ok()
        if not catalog:
            from opsctl.cli.org_cache import write_slices

            # the slices cost as much again to write: only for a command that reads one
            write_slices(str(self.root), self.env, org, slices=scoped, pipelines=pipelines)
        return org

    @property
    def calendar(self) -> CachedHolidays:
        if self._calendar is None:
            from opsctl.system.holidays import default_calendar

            self._calendar = default_calendar(self.cache)
        return self._calendar

    def engine(self, org: Org) -> Engine:
        """An engine of ``org`` (as read from the repository now), going on from the swaps resolved
        by the last command over the same inputs (:func:`opsctl.cli.org_cache.read_swaps`)."""
        from opsctl.cli.org_cache import read_swaps
        from opsctl.engine.schedule.resolve import Engine

        key, states = read_swaps(str(self.root), self.env, org.rotations)
        engine = Engine(org, self.calendar, swaps=states)
        self._engines.append((engine, key, {rotation: state.resolved for rotation, state in states.items()}))
        return engine

    def _keep_swaps(self) -> None:
        """Keep the swaps resolved further than they were read, with those of the other rotations as read."""
        from opsctl.cli.org_cache import write_swaps

        for engine, key, seeded in self._engines:
            further = {r: state for r, state in engine.swap_states().items() if state.resolved > seeded.get(r, -1)}
            if further:
                write_swaps(str(self.root), self.env, key, further)

    def compile_answers(self, org: Org, engine: Engine) -> None:
        """Write the coming weeks' whoisoncall answers for the fast path (:mod:`opsctl.cli.answer_cache`)."""
        from opsctl.answers.oncall import compiled_rotations
        from opsctl.cli.answer_cache import WINDOW_DAYS, compile_answers, write_cache

        if org is self._slice:
            return  # one team's slice: the compiled answers must hold every rotation
        rotations = compiled_rotations(org, engine, self.now, WINDOW_DAYS)
        write_cache(str(self.root), compile_answers(str(self.root), rotations, self.now), self.env)

    def close(self) -> None:
        if self._calendar is not None:
            self._calendar.save()
        self._keep_swaps()


def runtime() -> Runtime:
    obj = click.get_current_context().find_root().obj
    assert isinstance(obj, Runtime)
    return obj


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def terminal_width() -> int | None:
    """The width to lay output out in: ``$COLUMNS``, else the terminal's; None when piped
    without ``$COLUMNS`` (tables then keep each row on one line)."""
    from opsctl.answers.columns import output_width

    return output_width(runtime().env, sys.stdout)


BOXED = {"auto": None, "table": True, "plain": False}
"""``--format`` of a table → ``boxed`` for :func:`table_style` (None: boxed on a terminal)."""


def table_style(boxed: bool | None = None) -> tuple[bool, bool, int | None]:
    """How to draw tables here: (boxed, color, width): boxed on a terminal, plain aligned
    columns when piped (or as ``boxed`` says), colour on a terminal, as wide as :func:`terminal_width`."""
    tty = stdout_is_tty()
    return tty if boxed is None else boxed, tty, terminal_width()


def emit_tables(tables: Sequence[Table], *, boxed: bool | None = None) -> None:
    """Print tables: boxed on a terminal, plain aligned columns when piped (or as ``boxed`` says)."""
    from opsctl.answers.tables import render

    boxed, color, width = table_style(boxed)
    click.echo(render(tables, boxed=boxed, color=color, width=width), nl=False)


def emit_json(value: object) -> None:
    """Print ``value`` as indented JSON (:func:`opsctl.system.jsontext.dumps`)."""
    from opsctl.system.jsontext import dumps

    click.echo(dumps(value))


FORMAT_TABLE_JSON = click.Choice(["table", "json"])
