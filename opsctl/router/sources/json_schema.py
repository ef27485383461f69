"""Building blocks for the sources' body schemas in the OpenAPI document.

They say exactly what the parsers accept (:mod:`.shape`): the fuzz test holds the two
together (a schema-valid alert is accepted, a schema-invalid one refused).
"""

from __future__ import annotations

from typing import Any

from opsctl.router.sources.shape import MAX_TEXT

TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
OPTIONAL = {"type": ["string", "null"], "maxLength": MAX_TEXT}
ID = {"anyOf": [{"type": "integer"}, TEXT]}
OPTIONAL_ID = {"anyOf": [{"type": "integer"}, OPTIONAL]}
INTEGER = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]+$"}, {"type": "null"}]}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string", "maxLength": MAX_TEXT}}
OPTIONAL_MAP = {**STRING_MAP, "type": ["object", "null"]}


def enum(*values: str) -> dict[str, Any]:
    """One of ``values``, or null."""
    return {"enum": [*values, None]}


def optional(*names: str) -> dict[str, Any]:
    """Optional text properties."""
    return dict.fromkeys(names, OPTIONAL)


def body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """A JSON object with ``required`` keys among ``properties``."""
    return {"type": "object", "required": required, "properties": properties}
