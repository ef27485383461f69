"""JSON Schema of each file kind, generated from the model by pydantic.

The model's dataclasses are the single source: field names are keys, attribute
docstrings are descriptions and :class:`~opsctl.model.spelling.Spelled` markers give the YAML
spelling of durations, clock times and ids. Only `opsctl schema` imports pydantic.
"""

from __future__ import annotations

import json
from datetime import time, timedelta
from typing import Any

from opsctl.model import FILE_KINDS
from opsctl.model.spelling import format_clock, format_duration

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema of one file kind (a key of :data:`~opsctl.model.FILE_KINDS`)."""
    from pydantic import TypeAdapter
    from pydantic.json_schema import GenerateJsonSchema

    class _Generator(GenerateJsonSchema):
        def encode_default(self, dft: Any) -> Any:
            return super().encode_default(_yaml_spelling(dft))

    schema = TypeAdapter(FILE_KINDS[kind]).json_schema(schema_generator=_Generator)
    return {"$schema": SCHEMA_DIALECT, "$id": f"https://opsctl.example.com/schemas/{kind}.schema.json", **schema}


def _yaml_spelling(value: Any) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, time):
        return format_clock(value)
    if isinstance(value, tuple):
        return [_yaml_spelling(v) for v in value]
    return value


def all_schemas() -> dict[str, dict[str, Any]]:
    return {kind: schema_for(kind) for kind in FILE_KINDS}


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def schema_filename(kind: str) -> str:
    return f"{kind}.schema.json"
