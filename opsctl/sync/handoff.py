"""`opsctl notify handoff`: the handoff message, posted once per shift change.

At each shift change the team channel gets one message: who hands over (outgoing), who
takes over (incoming), each one's next shift, and the reduced-duty windows still ahead
in the new shift. Run it as often as you like (cron every 15 minutes): the message
carries Slack message metadata (``event_type: opsctl_handoff`` with the rotation and
the shift index) and, before posting, the channel's history since the shift began is
read back with ``include_all_metadata`` (``conversations.history``, Tier 3, paginated with
a cursor; the bot must be in the channel). A message for this shift found there means it
was already posted, from this machine or any other; no local state is kept. People are
mentioned by the ids of one paginated ``users.list`` read. (Two runs
in the very same second can still both post: keep one cron job per rotation.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from opsctl.engine.schedule.resolve import Engine
from opsctl.model import Org, Rotation
from opsctl.sync.plan import Notice
from opsctl.sync.slack import SlackPerson, channel_name, directory, list_channels

if TYPE_CHECKING:
    from slack_sdk import WebClient

EVENT_TYPE = "opsctl_handoff"


@dataclass(frozen=True)
class Handoff:
    """The handoff message of one shift change of one rotation."""

    rotation: str
    shift: int
    start: datetime
    channel: str
    """Channel name without ``#``."""
    people: tuple[str, ...]
    """The people the message names, to mention them."""

    @property
    def metadata(self) -> dict[str, Any]:
        return {
            "event_type": EVENT_TYPE,
            "event_payload": {"rotation": self.rotation, "shift": self.shift, "start": self.start.isoformat()},
        }


def due_handoffs(org: Org, engine: Engine, now: datetime) -> tuple[list[Handoff], list[Notice]]:
    """The current shift of every rotation whose team has a channel."""
    handoffs: list[Handoff] = []
    notices: list[Notice] = []
    for rotation in org.rotations.values():
        team = org.teams.get(rotation.team)
        if team is None or not team.slack_channel:
            notices.append(Notice("warning", f"rotation {rotation.id}", f"team {rotation.team} has no slack_channel: no handoff"))
            continue
        k = engine.grid(rotation.id).index_at(now)
        if k < 0:
            continue
        incoming = engine.shift(rotation.id, k)
        people = [incoming.primary, incoming.secondary]
        if k > 0:
            outgoing = engine.shift(rotation.id, k - 1)
            people += [outgoing.primary, outgoing.secondary]
        handoffs.append(
            Handoff(
                rotation.id, k, incoming.start, channel_name(team.slack_channel), tuple(dict.fromkeys(p for p in people if p))
            )
        )
    return handoffs, notices


def _when(instant: datetime, rotation: Rotation) -> str:
    return f"{instant.astimezone(ZoneInfo(rotation.timezone)):%a %Y-%m-%d %H:%M %Z}"


def next_shift(engine: Engine, rotation: Rotation, person: str, after: int) -> str:
    """When ``person`` is next on call in ``rotation`` after shift ``after``, in words."""
    grid = engine.grid(rotation.id)
    lookahead = 2 * max(len(rotation.members), *(len(c.members) for c in rotation.roster_changes), 1)
    for j in range(after + 1, after + 1 + lookahead):
        shift = engine.shift(rotation.id, j)
        for role, who in (("primary", shift.primary), ("secondary", shift.secondary)):
            if who == person:
                return f"{role} from {_when(grid.boundary(j), rotation)}"
    return f"not in the next {lookahead} shifts"


def handoff_text(org: Org, engine: Engine, handoff: Handoff, now: datetime, mention: Callable[[str], str]) -> str:
    """The message, in Slack mrkdwn. ``mention`` turns a person id into a name or an @-mention."""
    rotation = org.rotations[handoff.rotation]
    k = handoff.shift
    incoming = engine.shift(rotation.id, k)

    def pair(primary: str, secondary: str | None) -> str:
        return f"primary {mention(primary)}" + (f", secondary {mention(secondary)}" if secondary else "")

    lines = [
        f"*On-call handoff: {rotation.title}* (shift {k}: {_when(incoming.start, rotation)} → {_when(incoming.end, rotation)})"
    ]
    named: list[str] = []
    if k > 0:
        outgoing = engine.shift(rotation.id, k - 1)
        lines.append(f"Outgoing: {pair(outgoing.primary, outgoing.secondary)}")
        named += [p for p in (outgoing.primary, outgoing.secondary) if p]
    lines.append(f"Incoming: {pair(incoming.primary, incoming.secondary)}")
    named += [p for p in (incoming.primary, incoming.secondary) if p]
    lines.append("Next shifts:")
    for person in dict.fromkeys(named):
        found = org.people.get(person)
        lines.append(f"• {found.name if found else person}: {next_shift(engine, rotation, person, k)}")
    reduced = [s for s in engine.slots(rotation.id, max(now, incoming.start), incoming.end) if s.reduced]
    if reduced:
        lines.append("Reduced duty ahead in this shift:")
        for slot in reduced:
            lines.append(f"• {_when(slot.start, rotation)} → {_when(slot.end, rotation)}: {'; '.join(slot.brief_reasons)}")
    else:
        lines.append("No reduced duty ahead in this shift.")
    return "\n".join(lines)


@dataclass(frozen=True)
class HandoffResult:
    rotation: str
    shift: int
    channel: str
    outcome: str
    """`posted`, `already posted`, `would post` (dry run) or why not."""
    text: str = ""


def already_posted(client: WebClient, channel_id: str, handoff: Handoff) -> bool:
    """Whether the channel's history since the shift began holds this handoff's message."""
    cursor = ""
    while True:
        page = client.conversations_history(
            channel=channel_id, oldest=f"{handoff.start.timestamp():.6f}", include_all_metadata=True, limit=200, cursor=cursor
        )
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == EVENT_TYPE
                and payload.get("rotation") == handoff.rotation
                and payload.get("shift") == handoff.shift
            ):
                return True
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not page.get("has_more") or not cursor:
            return False


def notify_handoffs(
    client: WebClient | None, org: Org, engine: Engine, now: datetime, *, dry_run: bool = False
) -> tuple[list[HandoffResult], list[Notice]]:
    """Post every due handoff message that is not in its channel yet (``client`` None: the
    offline preview of a dry run, which reads nothing)."""
    handoffs, notices = due_handoffs(org, engine, now)
    if not handoffs:
        return [], notices
    if client is None:  # the offline preview: no channel read, names instead of mentions
        return [
            HandoffResult(
                h.rotation,
                h.shift,
                h.channel,
                "would post (offline preview: Slack not read, so not checked whether it was posted already)",
                handoff_text(org, engine, h, now, lambda p: org.people[p].name if p in org.people else p),
            )
            for h in handoffs
        ], notices
    channels = {c.name.casefold(): c for c in list_channels(client)}
    people = directory(client)

    def mention(person_id: str) -> str:
        person = org.people.get(person_id)
        if person is None:
            return person_id
        found = people.find(SlackPerson(person.id, person.name, person.email, person.slack_id))
        return f"<@{found}> ({person.name})" if found else person.name

    results: list[HandoffResult] = []
    for handoff in handoffs:
        channel = channels.get(handoff.channel.casefold())
        if channel is None:
            results.append(HandoffResult(handoff.rotation, handoff.shift, handoff.channel, "channel not found (invite the bot?)"))
            continue
        if not channel.is_member:
            # conversations.history and chat.postMessage refuse a bot outside the channel (not_in_channel)
            why = f"the bot is not in #{channel.name}: invite it (`/invite @<bot>`)"
            results.append(HandoffResult(handoff.rotation, handoff.shift, handoff.channel, why))
            continue
        channel_id = channel.id
        if already_posted(client, channel_id, handoff):
            results.append(HandoffResult(handoff.rotation, handoff.shift, handoff.channel, "already posted"))
            continue
        text = handoff_text(org, engine, handoff, now, mention)
        if dry_run:
            results.append(HandoffResult(handoff.rotation, handoff.shift, handoff.channel, "would post", text))
            continue
        client.chat_postMessage(channel=channel_id, text=text, metadata=handoff.metadata, unfurl_links=False)
        results.append(HandoffResult(handoff.rotation, handoff.shift, handoff.channel, "posted", text))
    return results, notices


def run_handoffs(
    org: Org, engine: Engine, now: datetime, env: Mapping[str, str], *, dry_run: bool = False
) -> tuple[list[HandoffResult], list[Notice]]:
    """:func:`notify_handoffs` with a paced client from the environment; without a token, a
    dry run is an offline preview and a real run is a usage error."""
    from opsctl.errors import UsageError
    from opsctl.vendors.config import VendorConfig
    from opsctl.vendors.errors import translated
    from opsctl.vendors.slack_api import slack_client, slack_pacer

    config = VendorConfig.from_env(env)
    if not config.slack_token and not dry_run:
        raise UsageError("SLACK_BOT_TOKEN is not set: export a Slack bot token (or preview offline with --dry-run)")
    with translated(config):
        client = slack_client(config, pacer=slack_pacer()) if config.slack_token else None
        return notify_handoffs(client, org, engine, now, dry_run=dry_run)
