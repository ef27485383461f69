"""`opsctl serve`, `opsctl route` and `opsctl alerts`: the alert router, its dry run and its outbox."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import click

from opsctl.cli.runtime import emit_json, runtime, stdout_is_tty, terminal_width

SOURCE_NAMES = ("alertmanager", "grafana", "dbt-cloud", "airflow", "great-expectations", "generic")
"""The same as :data:`opsctl.router.sources.SOURCES`, spelled out so that `--help` imports nothing."""

SERVE_EPILOG = """\b
Environment:
  OPSCTL_WEBHOOK_TOKEN_<SOURCE>   bearer token per source (ALERTMANAGER, GRAFANA,
                                  AIRFLOW, GREAT_EXPECTATIONS, GENERIC)
  OPSCTL_WEBHOOK_TOKEN            bearer token of every source without its own
  OPSCTL_DBT_WEBHOOK_SECRET       dbt Cloud webhook secret (HMAC of the body)
  OPSCTL_GRAFANA_WEBHOOK_SECRET   Grafana HMAC secret (signature over timestamp:body)
  OPSCTL_ROUTING_KEYS_FILE        PagerDuty routing keys JSON (or --routing-keys)
  OPSCTL_ROUTER_DB                alert database (or --db)
  OPSCTL_ROUTER_MAX_BODY          body size cap in bytes (default 1048576)
  SLACK_BOT_TOKEN                 Slack bot token (channel messages and DMs)
  OPSCTL_PAGERDUTY_EVENTS_URL     Events API base (default https://events.pagerduty.com)
  OPSCTL_SLACK_API_URL            Slack Web API base (default https://slack.com/api/)
"""


def db_path(option: str | None) -> Path:
    from opsctl.router.settings import DEFAULT_DB

    rt = runtime()
    return Path(option or rt.env.get("OPSCTL_ROUTER_DB") or rt.root / DEFAULT_DB)


@click.command("serve", epilog=SERVE_EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--db", metavar="PATH", help="Alert database [default: $OPSCTL_ROUTER_DB, else opsctl-router.sqlite3 in the repository]."
)
@click.option("--routing-keys", metavar="PATH", help="PagerDuty routing keys JSON [default: $OPSCTL_ROUTING_KEYS_FILE].")
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
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True)
def serve_command(
    host: str,
    port: int,
    db: str | None,
    routing_keys: str | None,
    site: str | None,
    commit: str,
    retry_base: float,
    retry_cap: float,
    max_attempts: int,
    log_level: str,
) -> None:
    """Serve the alert webhook (POST /v1/alerts/SOURCE), /v1/oncall, calendars and the runbook site.

    An alert is answered 202 only once it is stored (fsynced); a worker process then pages
    PagerDuty and posts to Slack, retrying until delivered. See README "Routing alerts".
    """
    from opsctl.router.server import serve
    from opsctl.router.settings import RouterSettings
    from opsctl.vendors.retry import RetryPolicy

    rt = runtime()
    settings = RouterSettings.from_env(
        rt.root,
        rt.env,
        db_path=db,
        routing_keys=routing_keys,
        site_dir=site,
        group_commit=commit == "group",
        retry=RetryPolicy(retry_base, retry_cap, max_attempts),
    )
    serve(settings, host, port, log_level=log_level)


@click.command("route")
@click.argument("payload", metavar="FILE|-", type=click.File("rb"))
@click.option("--source", type=click.Choice(SOURCE_NAMES), help="The payload's sender [default: guessed from its shape].")
@click.option("--at", "at", metavar="TIME", help="Route as if the alert came at TIME: 2026-12-24T03:00, +8h, now.")
@click.option("--routing-keys", metavar="PATH", help="Also check the PagerDuty routing key [default: $OPSCTL_ROUTING_KEYS_FILE].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def route_command(payload: IO[bytes], source: str | None, at: str | None, routing_keys: str | None, fmt: str) -> None:
    """Dry run: which pipeline an alert payload matches, who would be paged, who is skipped and why.

    Reads FILE (or - for stdin) as the source sends it; sends nothing, stores nothing.
    """
    from opsctl.router.matching import AlertIndex, decide
    from opsctl.router.plan import plan
    from opsctl.router.report import assumed_incident, decision_json, decision_text, plan_json
    from opsctl.router.sources import PARSERS, guess_source
    from opsctl.router.sources.shape import load_json
    from opsctl.vendors.routing_keys import RoutingKeyFile

    rt = runtime()
    instant = rt.when(at)
    data = load_json(payload.read())
    chosen = source or guess_source(data)
    parsed = PARSERS[chosen](data)
    if parsed.ignored:
        if fmt == "json":
            emit_json({"source": chosen, "ignored": parsed.ignored})
        else:
            click.echo(f"{chosen}: nothing to route: {parsed.ignored}")
        return
    org = rt.org()
    engine = rt.engine(org)
    index = AlertIndex(org)
    keys_path = routing_keys or rt.env.get("OPSCTL_ROUTING_KEYS_FILE")
    keys = RoutingKeyFile(Path(keys_path)) if keys_path else None
    out: list[dict[str, Any]] = []
    texts = []
    for alert in parsed.alerts:
        decision = decide(org, engine, index, alert, instant)
        result = plan(org, decision, assumed_incident(org, decision), slack=True)
        if keys is None:
            routing = "key not checked (no --routing-keys or OPSCTL_ROUTING_KEYS_FILE)"
        else:
            found, why = keys.lookup(decision.routing_target)
            routing = why if found is None else f"uses {why}"
        out.append(decision_json(org, decision) | plan_json(result) | {"routing": routing})
        texts.append(decision_text(org, decision, result, routing))
    if fmt == "json":
        emit_json(out)
    else:
        click.echo("\n\n".join(texts))


@click.group("alerts")
@click.option(
    "--db", metavar="PATH", help="Alert database [default: $OPSCTL_ROUTER_DB, else opsctl-router.sqlite3 in the repository]."
)
@click.pass_context
def alerts_group(ctx: click.Context, db: str | None) -> None:
    """The alerts opsctl serve stored, and their deliveries: list, show, retry."""
    ctx.meta["opsctl.router.db"] = db


def _open(ctx: click.Context) -> Any:
    from opsctl.errors import UsageError
    from opsctl.router.outbox import connect

    path = db_path(ctx.meta.get("opsctl.router.db"))
    if not path.is_file():
        raise UsageError(f"no alert database at {path}: opsctl serve creates it (--db or OPSCTL_ROUTER_DB point at another)")
    return connect(path, durable=True)


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

    from opsctl.router.outbox import list_alerts

    conn = _open(ctx)
    try:
        rows = list_alerts(conn, state=state, limit=limit)
    finally:
        conn.close()
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
            f"{row.state}" + (f" (+{row.duplicates} dup)" if row.duplicates else ""),
            row.summary,
        ]
        for row in rows
    ]
    headers = ("ID", "Received (UTC)", "Source", "Status", "Routed to", "Deliveries", "Summary")
    table = Table(headers, lines, title="Alerts", right=[0])
    click.echo(render([table], boxed=stdout_is_tty(), color=stdout_is_tty(), width=terminal_width()), nl=False)


@alerts_group.command("show")
@click.argument("alert_id", metavar="ID", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def alerts_show(ctx: click.Context, alert_id: int, fmt: str) -> None:
    """One alert: how it was routed, and each delivery with its attempts and last error."""
    from opsctl.errors import UsageError
    from opsctl.router.outbox import show_alert

    conn = _open(ctx)
    try:
        found = show_alert(conn, alert_id)
    finally:
        conn.close()
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
    if not found["deliveries"]:
        lines.append("  deliveries none")
    for d in found["deliveries"]:
        when = f"delivered {_when(d['delivered_at'])}" if d["state"] == "delivered" else d["state"]
        if d["state"] == "pending" and d["attempts"]:
            when += f", next attempt {_when(d['next_at'])}"
        lines.append(f"  delivery {d['id']}: {d['kind']} {d['action']} → {d['target']}: {when} ({d['attempts']} attempts)")
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
    from opsctl.router.outbox import retry

    if bool(alert_ids) == all_failed:
        raise UsageError("give alert ids or --all-failed (one of them)")
    conn = _open(ctx)
    try:
        count = retry(conn, None if all_failed else list(alert_ids))
    finally:
        conn.close()
    if count == 0:
        click.echo("no failed deliveries to retry", err=True)
    else:
        click.echo(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again", err=True)
