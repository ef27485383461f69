"""Reading a JSON body field by field, with errors that name the field (``alerts[2].labels``)."""

from __future__ import annotations

import json
import re
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
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadPayload(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", status=400, code="malformed-json"
        ) from None
    except RecursionError:
        raise BadPayload("the body is nested too deeply", status=400, code="malformed-json") from None
    if _SURROGATE.search(text):
        # "\\ud800" alone is valid JSON but no text: it could not be stored or sent on
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            message = "the body holds a lone UTF-16 surrogate (\\ud800-\\udfff)"
            raise BadPayload(message, status=400, code="malformed-json") from None
    return data


_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


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


def _whole(value: object) -> int | None:
    """``value`` as an int when it is a whole JSON number (``7`` or ``7.0``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def ident(data: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    """An id sent as a string or an integer (dbt sends both); always returned as a string."""
    number = _whole(data.get(key))
    if number is not None:
        return str(number)
    return text(data, key, where, required=required)


_INTEGER = re.compile(r"-?[0-9]+\n?")  # what the document's pattern "^-?[0-9]+$" admits


def integer(data: dict[str, Any], key: str, where: str) -> int | None:
    """A whole number, also as digits in a string (what a templated JSON body renders)."""
    value = data.get(key)
    if value is None:
        return None
    number = _whole(value)
    if number is not None:
        return number
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    raise BadPayload(f"{_at(where, key)} must be an integer, not {describe(value)}")


def choice(data: dict[str, Any], key: str, where: str, choices: tuple[str, ...]) -> str | None:
    """One of ``choices``, or None when absent."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value not in choices:
        shown = repr(value) if isinstance(value, str) else describe(value)
        raise BadPayload(f"{_at(where, key)} must be one of {', '.join(choices)}, not {shown}")
    return value


MAX_DEPTH = 20


def free_object(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """An object of anything (``details``), at most :data:`MAX_DEPTH` levels deep."""
    value = data.get(key)
    if value is None:
        return {}
    found = obj(value, _at(where, key))
    stack: list[tuple[object, int]] = [(found, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadPayload(f"{_at(where, key)} is nested deeper than {MAX_DEPTH} levels")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return found


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


def _at(where: str, key: str) -> str:
    return key if where == "body" else f"{where}.{key}"


def first_line(value: str | None, limit: int = 300) -> str:
    """The first non-empty line of ``value``, shortened, for summaries."""
    if not value:
        return ""
    line = next((part.strip() for part in value.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"
