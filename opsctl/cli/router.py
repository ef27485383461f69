"""`opsctl serve`, `opsctl route` and `opsctl alerts`: the alert router, its dry run and its outbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from opsctl.cli.runtime import emit_json, runtime, stdout_is_tty, terminal_width
from opsctl.router.sources import SOURCES

T = TypeVar("T")

SERVE_EPILOG = """\b
Environment:
  OPSCTL_WEBHOOK_TOKEN_<SOURCE>   bearer token per source (ALERTMANAGER, GRAFANA,
                                  AIRFLOW, GREAT_EXPECTATIONS, GENERIC) and of
                                  heartbeats (HEARTBEAT)
  OPSCTL_WEBHOOK_TOKEN            bearer token of every source without its own
  OPSCTL_DBT_WEBHOOK_SECRET       dbt Cloud webhook secret (HMAC of the body)
  OPSCTL_GRAFANA_WEBHOOK_SECRET   Grafana HMAC secret (signature over timestamp:body)
  OPSCTL_ROUTING_KEYS_FILE        PagerDuty routing keys JSON (or --routing-keys)
  OPSCTL_ROUTER_DB                alert database: SQLite file or postgresql:// URL (or --db)
  OPSCTL_ROUTER_MAX_BODY          body size cap in bytes (default 1048576)
  OPSCTL_ROUTER_REFRESH           at most one trigger per open failure this often (--refresh)
  OPSCTL_ROUTER_GROUP_WINDOW      group failures sharing a data source (--group-window)
  SLACK_BOT_TOKEN                 Slack bot token (channel messages and DMs)
  OPSCTL_PAGERDUTY_EVENTS_URL     Events API base (default https://events.pagerduty.com)
  OPSCTL_SLACK_API_URL            Slack Web API base (default https://slack.com/api/)
"""


DB_HELP = (
    "Alert database: a SQLite file or a postgresql:// URL "
    "[default: $OPSCTL_ROUTER_DB, else opsctl-router.sqlite3 in the repository]."
)


def database(option: str | None) -> str:
    """The alert database of ``--db``: a SQLite file path or a PostgreSQL URL."""
    from opsctl.router.settings import database_location

    rt = runtime()
    return database_location(rt.root, rt.env, option)


@click.command("serve", epilog=SERVE_EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--db", metavar="PATH|URL", help=DB_HELP)
@click.option("--routing-keys", metavar="PATH", help="PagerDuty routing keys JSON [default: $OPSCTL_ROUTING_KEYS_FILE].")
@click.option(
    "--refresh",
    metavar="DURATION",
    help="Send an open failure's trigger again at most this often; repeats in between are counted [default: 1h].",
)
@click.option(
    "--group-window",
    metavar="DURATION",
    help="Failures of pipelines sharing a data source within this window page once; 0 turns it off [default: 10m].",
)
@click.option(
    "--read-timeout", type=click.FloatRange(0.1), default=10.0, show_default=True, help="Seconds a client has to send a request."
)
@click.option("--site", metavar="DIR", help="Rendered runbook site served at / [default: site/ in the repository, if present].")
@click.option(
    "--commit",
    type=click.Choice(["group", "per-request"]),
    default="group",
    show_default=True,
    help="group: concurrent requests share one fsync; per-request: one fsync each (for comparison).",
)
@click.option(
    "--retry-base", type=click.FloatRange(0.001), default=1.0, show_default=True, help="Seconds before the first retry."
)
@click.option(
    "--retry-cap", type=click.FloatRange(0.001), default=300.0, show_default=True, help="Longest wait between retries, seconds."
)
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 10_000),
    default=30,
    show_default=True,
    help="Attempts before a delivery is kept as failed.",
)
@click.option(
    "--pagerduty-rate",
    type=click.FloatRange(1),
    default=120.0,
    show_default=True,
    help="PagerDuty events per minute per integration key (the Events API's limit); the worker paces itself to it.",
)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True)
def serve_command(
    host: str,
    port: int,
    db: str | None,
    routing_keys: str | None,
    refresh: str | None,
    group_window: str | None,
    read_timeout: float,
    site: str | None,
    commit: str,
    retry_base: float,
    retry_cap: float,
    max_attempts: int,
    pagerduty_rate: float,
    log_level: str,
) -> None:
    """Serve the alert webhook (POST /v1/alerts/SOURCE), /v1/oncall, calendars and the runbook site.

    An alert is answered 202 only once it is stored (fsynced); a worker process then pages
    PagerDuty and posts to Slack, retrying until delivered. Several servers may share one
    PostgreSQL database (--db postgresql://...). See README "Routing alerts" and docs/router.md.
    """
    from opsctl.router.server import serve
    from opsctl.router.settings import RouterSettings
    from opsctl.vendors.retry import RetryPolicy

    rt = runtime()
    settings = RouterSettings.from_env(
        rt.root,
        rt.env,
        database=db,
        routing_keys=routing_keys,
        site_dir=site,
        refresh=refresh,
        group_window=group_window,
        group_commit=commit == "group",
        read_timeout=read_timeout,
        pagerduty_events_per_minute=pagerduty_rate,
        retry=RetryPolicy(retry_base, retry_cap, max_attempts),
    )
    serve(settings, host, port, log_level=log_level)


@click.command("route")
@click.argument("payload", metavar="FILE|-", type=click.File("rb"))
@click.option("--source", type=click.Choice(SOURCES), help="The payload's sender [default: guessed from its shape].")
@click.option("--at", "at", metavar="TIME", help="Route as if the alert came at TIME: 2026-12-24T03:00, +8h, now.")
@click.option("--routing-keys", metavar="PATH", help="Also check the PagerDuty routing key [default: $OPSCTL_ROUTING_KEYS_FILE].")
@click.option(
    "--group-window",
    metavar="DURATION",
    help="As opsctl serve: failures sharing a data source within it page once; 0 turns it off [default: 10m].",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def route_command(
    payload: IO[bytes], source: str | None, at: str | None, routing_keys: str | None, group_window: str | None, fmt: str
) -> None:
    """Dry run: which pipeline an alert payload matches, who would be paged, who is skipped and why.

    Reads FILE (or - for stdin) as the source sends it; sends nothing, stores nothing. The
    alerts of one payload are routed one after the other, as the server would: a payload
    with failures of pipelines sharing a data source shows how they are grouped.
    """
    from opsctl.router.report import dry_run
    from opsctl.router.routing import DEFAULT_GROUP_WINDOW, RoutingPolicy
    from opsctl.router.settings import seconds
    from opsctl.vendors.routing_keys import RoutingKeyFile

    rt = runtime()
    instant = rt.when(at)
    window_text = group_window or rt.env.get("OPSCTL_ROUTER_GROUP_WINDOW")
    policy = RoutingPolicy(group_window=seconds(window_text, "--group-window") if window_text else DEFAULT_GROUP_WINDOW)
    keys_path = routing_keys or rt.env.get("OPSCTL_ROUTING_KEYS_FILE")
    keys = RoutingKeyFile(Path(keys_path)) if keys_path else None
    body = payload.read()
    org = rt.org()
    result = dry_run(org, rt.engine(org), body, at=instant, source=source, routing_keys=keys, policy=policy)
    if result.ignored:
        if fmt == "json":
            emit_json({"source": result.source, "ignored": result.ignored})
        else:
            click.echo(f"{result.source}: nothing to route: {result.ignored}")
    elif fmt == "json":
        emit_json(result.alerts)
    else:
        click.echo("\n\n".join(result.texts))


@click.group("alerts")
@click.option("--db", metavar="PATH|URL", help=DB_HELP)
@click.pass_context
def alerts_group(ctx: click.Context, db: str | None) -> None:
    """The alerts opsctl serve stored, and their deliveries: list, show, retry; stale: each pipeline's freshness."""
    ctx.meta["opsctl.router.db"] = db


def _read(ctx: click.Context, read: Callable[[Any, Any], T]) -> T:
    """``read(store, conn)`` on the alert database of ``--db``."""
    return read_database(database(ctx.meta.get("opsctl.router.db")), read)


def read_database(where: str, read: Callable[[Any, Any], T], *, option: str = "--db") -> T:
    """``read(store, conn)`` on the alert database at ``where`` (given by ``option``)."""
    from opsctl.router.store import reading

    with reading(where, option=option) as (store, conn):
        return read(store, conn)


def _counts(duplicates: int, coalesced: int, grouped: int) -> str:
    """What was counted into an alert, in words: ``(+2 dup, 40 repeats, 3 grouped)``."""
    parts = [f"+{duplicates} dup"] if duplicates else []
    if coalesced:
        parts.append(f"{coalesced} repeat{'s' if coalesced != 1 else ''}")
    if grouped:
        parts.append(f"{grouped} grouped")
    return f" ({', '.join(parts)})" if parts else ""


def _when(stamp: float | None) -> str:
    from datetime import UTC, datetime

    return "" if stamp is None else datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


@alerts_group.command("list")
@click.option("--state", type=click.Choice(["pending", "failed", "delivered", "all"]), default="all", show_default=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def alerts_list(ctx: click.Context, state: str, limit: int, fmt: str) -> None:
    """The newest alerts with the state of their deliveries (failed ones first to look at)."""
    from dataclasses import asdict

    rows = _read(ctx, lambda store, conn: store.list_alerts(conn, state=state, limit=limit))
    if fmt == "json":
        emit_json([asdict(row) | {"received_at": _when(row.received_at)} for row in rows])
        return
    if not rows:
        click.echo(f"no alerts{'' if state == 'all' else f' with {state} deliveries'}", err=True)
        return
    from opsctl.answers.columns import Table
    from opsctl.answers.tables import render

    lines = [
        [
            str(row.id),
            _when(row.received_at)[:19].replace("T", " "),
            row.source,
            row.status,
            row.pipeline or f"team {row.team}",
            f"{row.state}{_counts(row.duplicates, row.coalesced, row.grouped)}",
            row.summary,
        ]
        for row in rows
    ]
    headers = ("ID", "Received (UTC)", "Source", "Status", "Routed to", "Deliveries", "Summary")
    table = Table(headers, lines, title="Alerts", right=[0])
    click.echo(render([table], boxed=stdout_is_tty(), color=stdout_is_tty(), width=terminal_width()), nl=False)


@alerts_group.command("stale")
@click.option("--at", "at", metavar="TIME", help="As of TIME instead of now.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def alerts_stale(ctx: click.Context, at: str | None, fmt: str) -> None:
    """Every pipeline's last success, its freshness SLA and how long until it goes stale (the soonest first)."""
    from opsctl.router.freshness import STATE_WORDS, report, stale_in_words, status_json, watches, words
    from opsctl.router.store.freshness import seen_all

    rt = runtime()
    instant = rt.when(at)
    org = rt.org()
    rows = report(watches(org), _read(ctx, seen_all), instant.timestamp())
    if fmt == "json":
        emit_json([status_json(row) | {"tier": org.pipelines[row.pipeline].tier} for row in rows])
        return
    from opsctl.answers.columns import Table
    from opsctl.answers.tables import render

    lines = [
        [
            row.pipeline,
            org.pipelines[row.pipeline].tier,
            _when(row.last_success)[:16].replace("T", " ") or "never",
            row.source or "",
            words(row.sla),
            words(row.grace),
            stale_in_words(row),
            STATE_WORDS[row.state] + (", paged" if row.alert_open else ""),
        ]
        for row in rows
    ]
    headers = ("Pipeline", "Tier", "Last success (UTC)", "From", "SLA", "Grace", "Stale in", "State")
    # on a narrow terminal the source of the last success, then the grace, then the tier leave first
    table = Table(headers, lines, title=f"Freshness at {instant.isoformat(timespec='minutes')}", optional={3: 3, 5: 2, 1: 1})
    click.echo(render([table], boxed=stdout_is_tty(), color=stdout_is_tty(), width=terminal_width()), nl=False)


def pipeline_freshness(org: Any, where: str, instant: Any, *, option: str) -> dict[str, Any]:
    """Each pipeline's :class:`~opsctl.runbooks.pages.Freshness` from the alert database at ``where``."""
    from datetime import UTC, datetime, timedelta

    from opsctl.router.freshness import STATE_WORDS, report, stale_in_words, watches
    from opsctl.router.store.freshness import seen_all
    from opsctl.runbooks.pages import Freshness

    rows = report(watches(org), read_database(where, seen_all, option=option), instant.timestamp())
    return {
        row.pipeline: Freshness(
            datetime.fromtimestamp(row.last_success, UTC) if row.last_success is not None else None,
            row.source,
            STATE_WORDS[row.state],
            stale_in_words(row),
            timedelta(seconds=row.grace),
            row.alert_open,
        )
        for row in rows
    }


@alerts_group.command("show")
@click.argument("alert_id", metavar="ID", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def alerts_show(ctx: click.Context, alert_id: int, fmt: str) -> None:
    """One alert: how it was routed, and each delivery with its attempts and last error."""
    from opsctl.errors import UsageError

    found = _read(ctx, lambda store, conn: store.show_alert(conn, alert_id))
    if found is None:
        raise UsageError(f"no alert {alert_id} (opsctl alerts list shows the newest)")
    if fmt == "json":
        emit_json(found)
        return
    decision = found["decision"]
    lines = [
        f"alert {found['id']} from {found['source']}, {found['status']}, received {_when(found['received_at'])}",
        f"  {found['summary']}",
        f"  routed to  {decision['pipeline'] or 'no pipeline'} (team {decision['team']}): {decision['match']}",
        f"  decision   {'page now' if decision['page_now'] else 'no page'}, urgency {decision['urgency']}: {decision['reason']}",
    ]
    for number, step in enumerate(decision["chain"], start=1):
        state = f"skipped: {step['skipped']}" if step["skipped"] else "paged"
        lines.append(f"  {'chain' if number == 1 else '':<10} {number}. {step['role']}: {step['name'] or 'nobody'}, {state}")
    lines.append(f"  dedup key  {found['dedup_key']}")
    lines.append(f"  note       {found['note']}")
    if found["duplicates"]:
        lines.append(f"  duplicates {found['duplicates']} (last {_when(found['last_duplicate_at'])})")
    if found["coalesced"]:
        lines.append(f"  repeats    {found['coalesced']} coalesced into its incident: counted, not sent again")
    if found["grouped"]:
        lines.append(
            f"  grouped    {found['grouped']} other failure{'s' if found['grouped'] != 1 else ''} attached to its incident"
        )
    if found["group_of"]:
        lines.append(
            f"  group      attached to the incident of alert {found['group_of']} (opsctl alerts show {found['group_of']})"
        )
    if found["resolved_at"]:
        lines.append(f"  resolved   {_when(found['resolved_at'])}")
    if not found["deliveries"]:
        lines.append("  deliveries none")
    for d in found["deliveries"]:
        when = f"delivered {_when(d['delivered_at'])}" if d["state"] == "delivered" else d["state"]
        if d["state"] == "pending" and d["attempts"]:
            when += f", next attempt {_when(d['next_at'])}"
        tries = f"{d['attempts']} attempt{'s' if d['attempts'] != 1 else ''}"
        lines.append(f"  delivery {d['id']}: {d['kind']} {d['action']} → {d['target']}: {when} ({tries})")
        if d["last_error"] and d["state"] != "delivered":
            lines.append(f"      last error [{d['error_code']}]: {d['last_error']}")
    click.echo("\n".join(lines))


@alerts_group.command("retry")
@click.argument("alert_ids", metavar="ID...", type=int, nargs=-1)
@click.option("--all-failed", is_flag=True, help="Every failed delivery.")
@click.pass_context
def alerts_retry(ctx: click.Context, alert_ids: tuple[int, ...], all_failed: bool) -> None:
    """Queue the failed deliveries of alerts ID... (or --all-failed) again, now; a running server sends them."""
    from opsctl.errors import UsageError

    if bool(alert_ids) == all_failed:
        raise UsageError("give alert ids or --all-failed (one of them)")
    count = _read(ctx, lambda store, conn: store.retry(conn, None if all_failed else list(alert_ids)))
    if count == 0:
        click.echo("no failed deliveries to retry", err=True)
    else:
        click.echo(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again", err=True)
