"""Sending outbox rows: PagerDuty Events API v2 and Slack, through the shared vendor seam.

Each sender turns one attempt into an :class:`Outcome`; it never sleeps and never
retries. The worker decides when to try again: after ``Retry-After`` for a 429, after an
exponential backoff with jitter for a 5xx or a network error, and never by itself for a
refusal a person must fix (a missing routing key, an unknown Slack channel), which is
kept as failed until ``opsctl alerts retry``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsctl.router.store.records import Delivery
from opsctl.vendors.config import VendorConfig
from opsctl.vendors.errors import VendorError, transient_status, vendor_error
from opsctl.vendors.retry import retry_after_seconds
from opsctl.vendors.routing_keys import RoutingKeyFile

if TYPE_CHECKING:
    from pagerduty import EventsApiV2Client
    from slack_sdk import WebClient


@dataclass(frozen=True)
class Outcome:
    ok: bool
    result: str | None = None
    error: str = ""
    code: str = ""
    permanent: bool = False
    """A person must fix something first: stop retrying, keep it as failed."""
    retry_after: float | None = None
    """Seconds the service asked us to wait (429 Retry-After)."""


MAX_ERROR = 500


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


class PagerDutySender:
    """Events API v2 through :func:`opsctl.vendors.pagerduty_api.events_client`: one client per
    sending thread, told each event's routing key as it goes (a client costs tens of
    milliseconds of CPU to make, and a storm's first pages go to many keys at once)."""

    def __init__(self, vendor: VendorConfig, keys: RoutingKeyFile, *, timeout: int = 10) -> None:
        self.vendor = vendor
        self.keys = keys
        self.timeout = timeout
        self._local = threading.local()

    def _client(self, routing_key: str) -> EventsApiV2Client:
        client: EventsApiV2Client | None = getattr(self._local, "client", None)
        if client is None:
            from opsctl.vendors.pagerduty_api import events_client

            client = events_client(routing_key, self.vendor, max_attempts=1)
            client.timeout = self.timeout
            self._local.client = client
        else:
            from pagerduty.events_api_v2_client import RoutingKeyAuthMethod

            client.auth_method = RoutingKeyAuthMethod(routing_key)  # type: ignore[no-untyped-call]
        return client

    def send(self, delivery: Delivery) -> Outcome:
        routing_key, why = self.keys.lookup(delivery.target)
        if routing_key is None:
            return Outcome(False, error=why, code="no-routing-key", permanent=True)
        try:
            response = self._client(routing_key).post("/v2/enqueue", json=delivery.body)
        except Exception as exc:
            found = vendor_error(exc)
            if found is None:
                raise
            message = self.vendor.redact(_short(str(exc)) or type(exc).__name__).replace(routing_key, "[routing key]")
            return Outcome(False, error=f"PagerDuty unreachable: {type(exc).__name__}: {message}", code="network")
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(True, result=json.dumps({"status": status}))
        detail = _short(response.text).replace(routing_key, "[routing key]")
        if status == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"), -1.0)
            return Outcome(
                False, error="PagerDuty rate limit (429)", code="rate-limited", retry_after=wait if wait >= 0 else None
            )
        if transient_status(status):
            return Outcome(False, error=f"PagerDuty answered {status}: {detail}", code=f"http-{status}")
        # 400 (the event is invalid, or the routing key is unknown), 401, 403, 404, 413:
        # the same event would be refused again
        return Outcome(False, error=f"PagerDuty refused the event ({status}): {detail}", code=f"http-{status}", permanent=True)


class SlackSender:
    """Channel posts (one message, or a digest of several) and DMs through :func:`slack_client`."""

    def __init__(self, vendor: VendorConfig, *, timeout: int = 10, clock: Callable[[], float] = time.time) -> None:
        from opsctl.vendors.slack_api import slack_client

        self.vendor = vendor
        self.clock = clock
        self.client: WebClient = slack_client(vendor, rate_limit_retries=0, timeout=timeout)
        self._users: dict[str, str] = {}
        self._dms: dict[str, str] = {}
        self._channels: dict[str, str] = {}
        self._history: dict[str, _History] = {}
        self._lock = threading.Lock()

    def send(self, deliveries: Sequence[Delivery], thread_ts: str | None = None) -> Outcome:
        """Post ``deliveries`` (same target) as one message: the text of one, or a digest of many."""
        first = deliveries[0]
        try:
            channel = self._dm_channel(first.body) if first.kind == "slack-dm" else str(first.body["channel"])
            text = str(first.body["text"]) if len(deliveries) == 1 else digest_text(deliveries)
            metadata = {"event_type": "opsctl_delivery", "event_payload": {"deliveries": ",".join(str(d.id) for d in deliveries)}}
            kwargs: dict[str, Any] = {"channel": channel, "text": text, "metadata": metadata, "unfurl_links": False}
            if thread_ts:
                kwargs["thread_ts"] = thread_ts
            response = self.client.chat_postMessage(**kwargs)
        except Exception as exc:
            return self._failure(exc)
        return Outcome(True, result=json.dumps({"channel": response.get("channel"), "ts": response.get("ts")}))

    def find_posted(self, deliveries: Sequence[Delivery]) -> dict[int, Outcome]:
        """After a crash mid-send: those of ``deliveries`` (all for one target) that Slack
        already holds, matched by message metadata.

        One history read per channel and window: the messages since the oldest of them,
        read once and kept, serve every unsure delivery claimed before that read (whatever
        an earlier worker posted, it posted before its deliveries were claimed again).
        """
        first = deliveries[0]
        try:
            channel: str | None = (
                self._dm_channel(first.body) if first.kind == "slack-dm" else self._channel_id(str(first.body["channel"]))
            )
            if channel is None:
                return {}
            oldest = min(d.created_at for d in deliveries)
            claimed = max(d.claimed_at for d in deliveries)
            with self._lock:
                known = self._history.get(channel)
            if known is None or known.read_at < claimed or known.oldest > oldest:
                read_at = self.clock()
                known = _History(read_at, oldest, self._posted_since(channel, oldest))
                with self._lock:
                    self._history[channel] = known
        except Exception as exc:  # cannot tell: post them (at least once beats never)
            if vendor_error(exc) is None:
                raise
            return {}
        return {
            d.id: Outcome(True, result=json.dumps({"channel": channel, "ts": known.posted[str(d.id)], "found": True}))
            for d in deliveries
            if str(d.id) in known.posted
        }

    def _posted_since(self, channel: str, oldest: float) -> dict[str, str]:
        """Delivery id → ``ts`` of every opsctl message in ``channel`` since ``oldest`` (a minute of slack)."""
        posted: dict[str, str] = {}
        cursor = ""
        for _ in range(HISTORY_PAGES):
            kwargs: dict[str, Any] = {
                "channel": channel,
                "limit": 200,
                "include_all_metadata": True,
                "oldest": f"{oldest - 60:.6f}",
            }
            if cursor:
                kwargs["cursor"] = cursor
            page = self.client.conversations_history(**kwargs)
            for message in page.get("messages") or []:
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                for delivery in str(payload.get("deliveries", "")).split(","):
                    if delivery:
                        posted[delivery] = str(message.get("ts"))
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not page.get("has_more") or not cursor:
                break
        return posted

    def _channel_id(self, name: str) -> str | None:
        if not name.startswith("#"):
            return name
        with self._lock:
            if not self._channels:
                from opsctl.vendors.slack_api import pages

                listing = pages(
                    self.client.conversations_list, "channels", types="public_channel,private_channel", exclude_archived=True
                )
                self._channels = {f"#{c['name']}": c["id"] for c in listing}
            return self._channels.get(name)

    def _dm_channel(self, body: dict[str, Any]) -> str:
        user = body.get("slack_id")
        with self._lock:
            if not user:
                email = str(body.get("email") or "")
                user = self._users.get(email)
                if user is None:
                    user = str(self.client.users_lookupByEmail(email=email)["user"]["id"])
                    self._users[email] = user
            channel = self._dms.get(user)
            if channel is None:
                channel = str(self.client.conversations_open(users=user)["channel"]["id"])
                self._dms[user] = channel
            return channel

    def _failure(self, exc: Exception) -> Outcome:
        found = vendor_error(exc)
        if found is None:
            raise exc
        return slack_outcome(found, self.vendor)


HISTORY_PAGES = 50
"""Pages of 200 messages read at most per channel after a crash."""


@dataclass(frozen=True)
class _History:
    read_at: float
    oldest: float
    posted: dict[str, str]


def slack_outcome(found: VendorError, vendor: VendorConfig) -> Outcome:
    """The outcome of a Slack post that failed with ``found``."""
    if found.code == "rate-limited":
        return Outcome(False, error="Slack rate limit (429)", code="rate-limited", retry_after=found.retry_after)
    if found.status is None and found.transient:
        return Outcome(False, error=f"Slack unreachable: {vendor.redact(_short(found.message))}", code="network")
    message = f"Slack refused: {found.code}" + (f": {found.hint}" if found.hint else "")
    return Outcome(False, error=message, code=f"slack-{found.code}", permanent=not found.transient)


DIGEST_LINES = 15


def digest_text(deliveries: Sequence[Delivery]) -> str:
    """Several alerts for one channel in one message: Slack allows about one post per second
    per channel, so a storm becomes a few digests instead of a queue of thousands."""
    lines = [f"• {d.body.get('line') or d.body.get('text', '')}" for d in deliveries[:DIGEST_LINES]]
    more = len(deliveries) - DIGEST_LINES
    if more > 0:
        lines.append(f"… and {more} more (`opsctl alerts list` shows every one)")
    return f":rotating_light: {len(deliveries)} alerts:\n" + "\n".join(lines)
