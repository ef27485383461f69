"""JSON text as opsctl prints it: ``json.dumps(value, indent=2, ensure_ascii=False)``, faster.

The standard library writes indented JSON in pure Python (its C encoder serves only
unindented output): some 3 s for a year of a 10,000-pipeline org's schedule. orjson writes
the same layout in C, but not always the same bytes (``1e-05`` is ``1e-5`` to it, NaN is
``null``, a key that is not a string is refused where the standard library turns it into
one, a subclass of ``str`` is written by its own ``default``). So :func:`dumps` writes the
value twice unindented, with the standard library's C encoder and with orjson, and uses
orjson's indented text only when those two agree byte for byte; the layout added by
indenting depends only on the tokens, so the indented texts then agree too (a property test
holds both to that). Anything else, and any small value, is written by the standard library,
exactly as before.
"""

from __future__ import annotations

import json
from typing import Any


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


SMALL = 64 * 1024
"""Below this many bytes (unindented) the standard library writes the text: importing orjson
(some 10 ms) would cost more than it saves, e.g. for one team's `whoisoncall`."""


def dumps(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, byte for byte."""
    try:
        compact = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(compact) >= SMALL:
            import orjson

            options = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
            if orjson.dumps(value, default=_refuse, option=options) == compact:
                return orjson.dumps(value, default=_refuse, option=options | orjson.OPT_INDENT_2).decode("utf-8")
    except (ImportError, TypeError, ValueError, OverflowError, RecursionError, UnicodeError):
        pass  # orjson.JSONEncodeError is a TypeError; the standard library says what is wrong, as before
    return json.dumps(value, indent=2, ensure_ascii=False)
