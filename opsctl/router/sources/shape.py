"""Reading a JSON body field by field, with errors that name the field (``alerts[2].labels``)."""

from __future__ import annotations

import json
from typing import Any

from opsctl.router.errors import BadPayload

MAX_TEXT = 10_000
"""Longest accepted text field; alerts are summaries, not logs."""


def describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def load_json(body: bytes) -> Any:
    """The parsed body; :class:`BadPayload` (400) saying where it stops being JSON."""
    if not body.strip():
        raise BadPayload("the body is empty: send the alert as JSON", status=400, code="malformed-json")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPayload(f"the body is not UTF-8 (byte {exc.start})", status=400, code="malformed-json") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadPayload(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", status=400, code="malformed-json"
        ) from None
    except RecursionError:
        raise BadPayload("the body is nested too deeply", status=400, code="malformed-json") from None


def obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(f"{where} must be a JSON object, not {describe(value)}")
    return value


def _check_len(text: str, where: str) -> str:
    if len(text) > MAX_TEXT:
        raise BadPayload(f"{where} is longer than {MAX_TEXT} characters")
    return text


def text(data: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    """A string field (``None`` when absent and not required); empty strings count as absent."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise BadPayload(f"{_at(where, key)} is required")
        return None
    if not isinstance(value, str):
        raise BadPayload(f"{_at(where, key)} must be a string, not {describe(value)}")
    return _check_len(value, _at(where, key))


def required_text(data: dict[str, Any], key: str, where: str) -> str:
    value = text(data, key, where, required=True)
    assert value is not None
    return value


def ident(data: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    """An id sent as a string or an integer (dbt sends both); always returned as a string."""
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text(data, key, where, required=required)


def integer(data: dict[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise BadPayload(f"{_at(where, key)} must be an integer, not {describe(value)}")
    return value


def boolean(data: dict[str, Any], key: str, where: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise BadPayload(
            f"{_at(where, key)} is required and must be true or false"
            if value is None
            else f"{_at(where, key)} must be true or false, not {describe(value)}"
        )
    return value


def string_map(data: dict[str, Any], key: str, where: str, *, required: bool = False) -> dict[str, str]:
    """An object of strings (labels, annotations)."""
    value = data.get(key)
    if value is None:
        if required:
            raise BadPayload(f"{_at(where, key)} is required")
        return {}
    if not isinstance(value, dict):
        raise BadPayload(f"{_at(where, key)} must be an object of strings, not {describe(value)}")
    out: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(item, str):
            raise BadPayload(f"{_at(where, key)}.{name} must be a string, not {describe(item)}")
        out[name] = _check_len(item, f"{_at(where, key)}.{name}")
    return out


def array(data: dict[str, Any], key: str, where: str, *, required: bool = False, limit: int = 1000) -> list[Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise BadPayload(f"{_at(where, key)} is required")
        return []
    if not isinstance(value, list):
        raise BadPayload(f"{_at(where, key)} must be an array, not {describe(value)}")
    if len(value) > limit:
        raise BadPayload(f"{_at(where, key)} has {len(value)} items; at most {limit} are accepted per request")
    return value


def one_of(value: str | None, choices: tuple[str, ...], where: str) -> str | None:
    if value is not None and value not in choices:
        raise BadPayload(f"{where} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _at(where: str, key: str) -> str:
    return key if where == "body" else f"{where}.{key}"


def first_line(value: str | None, limit: int = 300) -> str:
    """The first non-empty line of ``value``, shortened, for summaries."""
    if not value:
        return ""
    line = next((part.strip() for part in value.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"
