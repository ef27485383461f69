"""Alert sources as records: one module per source, each defining ``SOURCE``.

A :class:`Source` holds everything the router knows about one sender: its name (the last
segment of ``POST /v1/alerts/{source}``), its parser (pure: a JSON body in,
:class:`~opsctl.router.alert.Parsed` out, :class:`~opsctl.router.errors.BadPayload`
naming the field at fault), how it authenticates, the body its OpenAPI description
documents, and where ``docs/alert-sources.md`` explains it. The server's intake, the
OpenAPI document, the security checks and the CLI all read :data:`SOURCES`; adding a
source is adding one module here (and its test).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from opsctl.router.alert import Parsed
from opsctl.router.errors import Rejected
from opsctl.router.sources.shape import load_json


@dataclass(frozen=True)
class Signature:
    """A source that signs its bodies with a shared secret instead of sending a token."""

    scheme: Literal["body-hmac", "timestamp-hmac"]
    """``body-hmac``: ``Authorization`` is the hex HMAC-SHA256 of the raw body (dbt Cloud);
    ``timestamp-hmac``: a signature header over ``<timestamp>:<body>`` with a timestamp
    header inside the replay window (Grafana)."""
    secret_variable: str
    """The server's environment variable holding the secret."""
    token_too: bool = False
    """A bearer token is accepted as well (when configured; the signature alone is enough)."""


@dataclass(frozen=True)
class Source:
    """One alert source; see the module docstring."""

    name: str
    title: str
    """What users call the sender (``Prometheus Alertmanager``)."""
    order: int
    """Where it is listed: the order of the docs, the OpenAPI paths and error messages."""
    parse: Callable[[Any], Parsed]
    body_schema: dict[str, Any]
    """The JSON Schema of the body in the OpenAPI document; the fuzz test holds it to ``parse``."""
    docs: str
    """The heading of its section in ``docs/alert-sources.md``."""
    signature: Signature | None = None
    """None: a bearer token (``OPSCTL_WEBHOOK_TOKEN_<NAME>`` or ``OPSCTL_WEBHOOK_TOKEN``)."""
    looks_like: Callable[[Any], bool] = field(default=lambda data: False)
    """Whether a body has this source's shape, for ``opsctl route`` without ``--source``."""

    @property
    def token_variable(self) -> str:
        return "OPSCTL_WEBHOOK_TOKEN_" + self.name.upper().replace("-", "_")

    @property
    def takes_token(self) -> bool:
        return self.signature is None or self.signature.token_too


def _discover() -> tuple[Source, ...]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.name == "shape":
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        source = getattr(loaded, "SOURCE", None)
        if isinstance(source, Source):
            found.append(source)
    return tuple(sorted(found, key=lambda s: (s.order, s.name)))


RECORDS: tuple[Source, ...] = _discover()
BY_NAME: dict[str, Source] = {source.name: source for source in RECORDS}
SOURCES: tuple[str, ...] = tuple(BY_NAME)
"""Source names, in their documented order."""


def unknown_source(source: str) -> Rejected:
    from opsctl.model.spelling import did_you_mean

    return Rejected(
        f"unknown source {source!r}{did_you_mean(source, BY_NAME)}; sources: {', '.join(SOURCES)}",
        status=404,
        code="unknown-source",
    )


def parse_body(source: str, body: bytes) -> Parsed:
    """Parse ``body`` as ``source`` sends it; :class:`Rejected` when it is not."""
    found = BY_NAME.get(source)
    if found is None:
        raise unknown_source(source)
    return found.parse(load_json(body))


def guess_source(data: Any) -> str:
    """The source whose shape ``data`` has, for ``opsctl route`` without ``--source``."""
    return next((source.name for source in RECORDS if source.looks_like(data)), "generic")
