"""What the router refuses, as HTTP answers people and alert sources can act on.

::

    OpsctlError
    └── Rejected            a request the router will not accept: status, code, message
        ├── BadPayload      the body is not JSON, or not the source's shape (400 / 422)
        ├── Unauthorized    missing or wrong token or signature, replayed timestamp (401)
        └── TooLarge        the body is over the size cap (413)

Messages name the field or header at fault and never echo a secret.
"""

from __future__ import annotations

from opsctl.errors import OpsctlError


class Rejected(OpsctlError):
    """A request the router refuses; ``status`` is the HTTP status, ``code`` a stable token."""

    status = 400
    code = "bad-request"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def body(self) -> dict[str, object]:
        return {"error": self.code, "message": str(self), "status": self.status}


class BadPayload(Rejected):
    """The body is not what the source sends: not JSON (400) or the wrong shape (422)."""

    status = 422
    code = "invalid-payload"


class Unauthorized(Rejected):
    """No token or signature, a wrong one, or a timestamp outside the replay window."""

    status = 401
    code = "unauthorized"


class TooLarge(Rejected):
    """The body is larger than the configured cap."""

    status = 413
    code = "too-large"
