"""Who may post alerts: per-source bearer tokens, and HMAC signatures where the source signs.

=================================  ==========================================================
``OPSCTL_WEBHOOK_TOKEN_<SOURCE>``   bearer token of one source: ``ALERTMANAGER``, ``GRAFANA``,
                                    ``AIRFLOW``, ``GREAT_EXPECTATIONS``, ``GENERIC``
``OPSCTL_WEBHOOK_TOKEN``            bearer token of every source without its own
``OPSCTL_DBT_WEBHOOK_SECRET``       dbt Cloud's webhook secret: ``Authorization`` must be the
                                    hex HMAC-SHA256 of the raw body (dbt sends no bearer token)
``OPSCTL_GRAFANA_WEBHOOK_SECRET``   Grafana's HMAC secret: ``X-Grafana-Alerting-Signature`` must be
                                    the hex HMAC-SHA256 of ``<timestamp>:<body>``, the timestamp
                                    (Unix seconds, ``X-Grafana-Alerting-Timestamp``) within the
                                    replay window
=================================  ==========================================================

A source with nothing configured accepts nothing. Comparisons are constant-time
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

GRAFANA_SIGNATURE_HEADERS = ("x-grafana-alerting-signature", "x-grafana-alert-signature")
"""The header the docs configure, then Grafana's own default name."""
GRAFANA_TIMESTAMP_HEADER = "x-grafana-alerting-timestamp"


def token_variable(source: str) -> str:
    return "OPSCTL_WEBHOOK_TOKEN_" + source.upper().replace("-", "_")


@dataclass(frozen=True)
class Credentials:
    """The secrets of the webhook endpoints. ``repr`` shows none of them."""

    tokens: dict[str, str] = field(default_factory=dict, repr=False)
    shared_token: str | None = field(default=None, repr=False)
    dbt_secret: str | None = field(default=None, repr=False)
    grafana_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, sources: tuple[str, ...], env: Mapping[str, str]) -> Credentials:
        tokens = {source: value for source in sources if (value := env.get(token_variable(source)))}
        return cls(
            tokens,
            env.get("OPSCTL_WEBHOOK_TOKEN") or None,
            env.get("OPSCTL_DBT_WEBHOOK_SECRET") or None,
            env.get("OPSCTL_GRAFANA_WEBHOOK_SECRET") or None,
        )

    def token_for(self, source: str) -> str | None:
        return self.tokens.get(source) or self.shared_token

    def accepts(self, source: str) -> bool:
        """Whether anything is configured that lets ``source`` in."""
        if source == "dbt-cloud":
            return self.dbt_secret is not None
        return self.token_for(source) is not None or (source == "grafana" and self.grafana_secret is not None)

    def secrets(self) -> list[str]:
        values = [*self.tokens.values(), self.shared_token, self.dbt_secret, self.grafana_secret]
        return [value for value in values if value]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def authenticate(
    credentials: Credentials, source: str, headers: Mapping[str, str], body: bytes, *, now: float, window: float
) -> None:
    """Return when the request may post to ``source``; :class:`Unauthorized` saying why not.

    ``headers`` must look names up case-insensitively (Starlette's do).
    """
    if source == "dbt-cloud":
        _dbt(credentials, headers, body)
        return
    signed = False
    if source == "grafana" and credentials.grafana_secret is not None:
        _grafana(credentials.grafana_secret, headers, body, now=now, window=window)
        signed = True
    token = credentials.token_for(source)
    if token is None:
        if signed:
            return
        raise Unauthorized(
            f"source {source!r} is not enabled: set {token_variable(source)} (or OPSCTL_WEBHOOK_TOKEN) on the server",
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
        raise Unauthorized(f"wrong token for source {source!r}")


def _dbt(credentials: Credentials, headers: Mapping[str, str], body: bytes) -> None:
    if credentials.dbt_secret is None:
        raise Unauthorized(
            "source 'dbt-cloud' is not enabled: set OPSCTL_DBT_WEBHOOK_SECRET to the webhook's secret on the server",
            code="not-configured",
        )
    given = (headers.get("authorization") or "").strip()
    if not given:
        raise Unauthorized("missing Authorization header: dbt Cloud sends the HMAC-SHA256 of the body there")
    if not _same(given.lower(), _hmac_hex(credentials.dbt_secret, body)):
        raise Unauthorized("bad signature: Authorization is not the HMAC-SHA256 of the body with the webhook secret")


def _grafana(secret: str, headers: Mapping[str, str], body: bytes, *, now: float, window: float) -> None:
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
