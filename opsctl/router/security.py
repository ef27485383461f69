"""Who may post alerts: per-source bearer tokens, and HMAC signatures where the source signs.

=================================  ==========================================================
``OPSCTL_WEBHOOK_TOKEN_<SOURCE>``   bearer token of one source: ``ALERTMANAGER``, ``GRAFANA``,
                                    ``AIRFLOW``, ``GREAT_EXPECTATIONS``, ``GENERIC``, and of
                                    heartbeats (``HEARTBEAT``, :mod:`.heartbeat`)
``OPSCTL_WEBHOOK_TOKEN``            bearer token of every source without its own
``OPSCTL_DBT_WEBHOOK_SECRET``       dbt Cloud's webhook secret: ``Authorization`` must be the
                                    hex HMAC-SHA256 of the raw body (dbt sends no bearer token)
``OPSCTL_GRAFANA_WEBHOOK_SECRET``   Grafana's HMAC secret: ``X-Grafana-Alerting-Signature`` must be
                                    the hex HMAC-SHA256 of ``<timestamp>:<body>``, the timestamp
                                    (Unix seconds, ``X-Grafana-Alerting-Timestamp``) within the
                                    replay window
=================================  ==========================================================

A source with nothing configured accepts nothing. A source that signs (dbt Cloud, Grafana)
needs only its signature once its secret is set; a bearer token is then not asked for. Comparisons are constant-time
(:func:`hmac.compare_digest`); messages say what is wrong, never what was expected.
A signed request replayed inside the window is still recognised as a duplicate by its
event key, so it cannot page twice.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from opsctl.router.errors import Unauthorized
from opsctl.router.sources import Source

GRAFANA_SIGNATURE_HEADERS = ("x-grafana-alerting-signature", "x-grafana-alert-signature")
"""The header the docs configure, then Grafana's own default name."""
GRAFANA_TIMESTAMP_HEADER = "x-grafana-alerting-timestamp"


@dataclass(frozen=True)
class Credentials:
    """The secrets of the webhook endpoints. ``repr`` shows none of them."""

    tokens: dict[str, str] = field(default_factory=dict, repr=False)
    """Source name → its own bearer token."""
    shared_token: str | None = field(default=None, repr=False)
    signing: dict[str, str] = field(default_factory=dict, repr=False)
    """Source name → the secret it signs with (sources with a :class:`Signature`)."""

    @classmethod
    def from_env(cls, sources: tuple[Source, ...], env: Mapping[str, str]) -> Credentials:
        tokens = {source.name: value for source in sources if source.takes_token and (value := env.get(source.token_variable))}
        signing = {
            source.name: value
            for source in sources
            if source.signature is not None and (value := env.get(source.signature.secret_variable))
        }
        return cls(tokens, env.get("OPSCTL_WEBHOOK_TOKEN") or None, signing)

    def token_for(self, source: Source) -> str | None:
        if not source.takes_token:
            return None
        return self.tokens.get(source.name) or self.shared_token

    def accepts(self, source: Source) -> bool:
        """Whether anything is configured that lets ``source`` in."""
        return source.name in self.signing or self.token_for(source) is not None

    def secrets(self) -> list[str]:
        values = [*self.tokens.values(), self.shared_token, *self.signing.values()]
        return [value for value in values if value]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def authenticate(
    credentials: Credentials, source: Source, headers: Mapping[str, str], body: bytes, *, now: float, window: float
) -> None:
    """Return when the request may post to ``source``; :class:`Unauthorized` saying why not.

    A source that signs and has its secret configured must send a good signature, and that
    is enough; otherwise its bearer token decides. ``headers`` must look names up
    case-insensitively (Starlette's do).
    """
    signature = source.signature
    secret = credentials.signing.get(source.name)
    if signature is not None and secret is not None:
        if signature.scheme == "body-hmac":
            _body_hmac(source, secret, headers, body)
        else:
            _timestamp_hmac(secret, headers, body, now=now, window=window)
        return
    token = credentials.token_for(source)
    if token is None:
        if signature is not None and not signature.token_too:
            raise Unauthorized(
                f"source {source.name!r} is not enabled: set {signature.secret_variable} to the webhook's secret on the server",
                code="not-configured",
            )
        raise Unauthorized(
            f"source {source.name!r} is not enabled: set {source.token_variable} (or OPSCTL_WEBHOOK_TOKEN) on the server",
            code="not-configured",
        )
    given = headers.get("authorization") or ""
    scheme, _, value = given.strip().partition(" ")
    if not given:
        raise Unauthorized("missing Authorization header: send `Authorization: Bearer <token>`")
    if scheme.lower() == "basic":
        # Alertmanager's basic_auth: the password is the token, the user name is not checked
        import base64
        import binascii

        try:
            value = base64.b64decode(value.strip(), validate=True).decode("utf-8", "surrogateescape").partition(":")[2]
        except (binascii.Error, ValueError):
            raise Unauthorized("the Basic credentials are not valid base64") from None
    elif scheme.lower() != "bearer":
        raise Unauthorized("the Authorization header must be `Bearer <token>` (or Basic with the token as password)")
    if not _same(value.strip(), token):
        raise Unauthorized(f"wrong token for source {source.name!r}")


def _body_hmac(source: Source, secret: str, headers: Mapping[str, str], body: bytes) -> None:
    given = (headers.get("authorization") or "").strip()
    if not given:
        raise Unauthorized(f"missing Authorization header: {source.title} sends the HMAC-SHA256 of the body there")
    if not _same(given.lower(), _hmac_hex(secret, body)):
        raise Unauthorized("bad signature: Authorization is not the HMAC-SHA256 of the body with the webhook secret")


def _timestamp_hmac(secret: str, headers: Mapping[str, str], body: bytes, *, now: float, window: float) -> None:
    signature = next((headers[name] for name in GRAFANA_SIGNATURE_HEADERS if headers.get(name)), "")
    if not signature:
        raise Unauthorized("missing X-Grafana-Alerting-Signature: configure HMAC signing in the contact point")
    stamp = (headers.get(GRAFANA_TIMESTAMP_HEADER) or "").strip()
    if not stamp:
        raise Unauthorized(
            "missing X-Grafana-Alerting-Timestamp: set the contact point's HMAC timestamp header to it (it guards against replay)"
        )
    try:
        sent = float(stamp)
    except ValueError:
        raise Unauthorized("X-Grafana-Alerting-Timestamp must be Unix seconds") from None
    seconds = sent / 1000 if sent > 1e11 else sent  # milliseconds, as some senders write them
    if abs(now - seconds) > window:
        raise Unauthorized(
            f"X-Grafana-Alerting-Timestamp is {int(abs(now - seconds))} s away from the server's clock "
            f"(the window is {window:.0f} s): a replayed request, or a clock that is off"
        )
    if not _same(signature.strip().lower(), _hmac_hex(secret, stamp.encode() + b":" + body)):
        raise Unauthorized("bad signature: X-Grafana-Alerting-Signature is not the HMAC-SHA256 of `<timestamp>:<body>`")
