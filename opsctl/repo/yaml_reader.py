"""Read YAML into model values, keeping the location of every value.

:func:`parse` composes a file into PyYAML nodes (which carry line and column);
:class:`Converter` walks a node against a model type (from its type hints) and builds
the frozen values, collecting *every* problem as a :class:`~opsctl.model.findings.Finding`
instead of stopping at the first. Invalid parts become :data:`INVALID` and are left out.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from opsctl.model.findings import Finding, error
from opsctl.model.locations import Location, SourceMap, Where
from opsctl.model.spelling import Spelled, did_you_mean, parse_clock, parse_duration

try:  # libyaml's parser is several times faster; fall back when it is absent
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):
    """PyYAML's safe loader with the tag of most scalars told at a glance.

    The composer asks :meth:`resolve` for the tag of every value (a third of the time of a
    large file went there); only plain scalars starting with one of a few characters can be
    anything but text, and only those go through PyYAML's own resolution.
    """

    _may_resolve = frozenset(key for key in _BaseLoader.yaml_implicit_resolvers if key)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if (
            kind is ScalarNode
            and (not implicit[0] or (value and value[0] not in self._may_resolve))
            and not self.yaml_path_resolvers
            and None not in self.yaml_implicit_resolvers
        ):
            return "tag:yaml.org,2002:str"
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
_TAG_NAMES = {NULL: "null", BOOL: "a boolean", INT: "an integer", FLOAT: "a number", TIMESTAMP: "a date"}


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()
"""Stands for a value that had errors (already reported)."""


def location(path: str, node: Node) -> Location:
    return Location(path, node.start_mark.line + 1, node.start_mark.column + 1)


MAX_ALIAS_EXPANSION = 100_000
"""How many values aliases may add to a document beyond those written in it.

Each alias repeats the value of its anchor; aliases of values that hold aliases multiply
(ten nested levels of ten make 10**10 values from a few lines, a "billion laughs"). Reuse
that stays within this many values is fine; more is refused before anything walks it.
"""

_ALIAS = re.compile(r"\*[^ \t\r\n\[\]{},]")
"""A ``*`` that may start an alias (``*name``); one followed by a space (a cron field) cannot."""

_FLOW_CONTEXTS = ("while parsing a flow sequence", "while parsing a flow mapping")


def parse(path: str, text: str) -> tuple[Node | None, Finding | None]:
    """Compose ``text`` into a node tree, or return the syntax error as a finding."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        hint = ""
        opened = exc.context_mark
        if exc.context in _FLOW_CONTEXTS and opened is not None and mark is not None and mark.line > opened.line:
            # An unclosed [ or { is only noticed at the next line's first token: point at
            # the bracket that was left open, where the fix goes.
            mark = opened
            hint = f"the {'[' if exc.context.endswith('sequence') else '{'} opened here is not closed"
        where = Location(path, mark.line + 1, mark.column + 1) if mark is not None else Location(path, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        return None, error(f"invalid YAML: {problem}{context}", where, hint=hint, code="yaml-syntax")
    except yaml.YAMLError as exc:
        # ReaderError (a control character, bad encoding) has a position, not a mark.
        position = getattr(exc, "position", None)
        line, column = 1, 1
        if isinstance(position, int):
            before = text[:position]
            line = before.count("\n") + 1
            column = position - (before.rfind("\n") + 1) + 1
        reason = getattr(exc, "reason", None) or "invalid YAML"
        return None, error(f"invalid YAML: {reason}", Location(path, line, column), code="yaml-syntax")
    if node is not None and _ALIAS.search(text):
        too_many = alias_expansion_problem(path, node, text)
        if too_many is not None:
            return None, too_many
    return node, None


def alias_expansion_problem(path: str, root: Node, text: str) -> Finding | None:
    """An error when aliases make the document larger than :data:`MAX_ALIAS_EXPANSION` allows.

    The composer turns an alias into a second reference to its anchor's node, so the tree
    is a graph: its size as written is the number of distinct nodes, its size as read
    counts each node once per path to it. Both are counted in one pass over the distinct
    nodes (children before parents), without expanding anything.
    """
    expanded: dict[int, int] = {}
    """Distinct node → its size as read, once all its children are counted."""
    shared: dict[int, Node] = {}
    """Nodes reached more than once: the anchors of aliases."""
    open_nodes = {id(root)}
    stack = [(root, iter(_children(root)))]
    while stack:
        node, children = stack[-1]
        for child in children:
            key = id(child)
            if key in expanded:
                shared[key] = child
            elif key in open_nodes:
                return error(
                    "invalid YAML: an alias refers to a value that contains it (a recursive anchor)",
                    location(path, child),
                    code="yaml-aliases",
                )
            elif isinstance(child, ScalarNode):
                expanded[key] = 1
            else:
                open_nodes.add(key)
                stack.append((child, iter(_children(child))))
                break
        else:
            stack.pop()
            open_nodes.discard(id(node))
            expanded[id(node)] = 1 + sum(expanded[id(child)] for child in _children(node))
    total = expanded[id(root)]
    if total - len(expanded) <= MAX_ALIAS_EXPANSION:
        return None
    # Name the anchor that repeats the most, where it is written.
    worst = max(shared.values(), key=lambda n: expanded[id(n)], default=root)
    where = location(path, worst)
    anchor = re.match(r"&([^ \t\r\n\[\]{},]+)", text[worst.start_mark.index :])
    name = f" &{anchor.group(1)}" if anchor else ""
    return error(
        f"aliases expand this file to {total:,} values from the {len(expanded):,} written (at most"
        f" {MAX_ALIAS_EXPANSION:,} more are read): the anchor{name} here is repeated through nested aliases",
        where,
        hint="write the values out, or alias only values that hold no aliases themselves",
        code="yaml-aliases",
    )


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def read_fields(at: Location, text: str, start: int, end: int) -> Where | None:
    """Where the keys, fields and items of the mapping written at ``text[start:end]`` are.

    The stretch is composed on its own, its first line indented as in the file so that
    columns stay right; a stretch that does not compose alone (an alias of an anchor
    outside it) is found in the whole file composed again.
    """
    column = at.column - 1
    try:
        node = yaml.compose(" " * column + text[start:end], Loader=_Loader)
        line_base = at.line - 1
    except yaml.YAMLError:
        node, line_base = _node_at(text, start), 0
    if node.__class__ is not MappingNode:
        return None

    def loc(part: Node) -> Location:
        return Location(at.path, part.start_mark.line + 1 + line_base, part.start_mark.column + 1)

    where = Where(at)
    for key_node, value_node in node.value:
        if key_node.__class__ is not ScalarNode or key_node.value in where.keys:
            continue
        key = key_node.value
        where.keys[key] = loc(key_node)
        where.fields[key] = loc(value_node)
        if isinstance(value_node, SequenceNode):
            for index, item in enumerate(value_node.value):
                where.fields[f"{key}.{index}"] = loc(item)
        elif isinstance(value_node, MappingNode):
            for item_key, item_value in value_node.value:
                if isinstance(item_key, ScalarNode):
                    where.fields[f"{key}.{item_key.value}"] = loc(item_value)
    return where


@functools.lru_cache(maxsize=2)
def _composed(text: str) -> dict[int, Node]:
    """Every mapping node of ``text`` by its start offset (for stretches that need the whole file)."""
    found: dict[int, Node] = {}
    try:
        stack = [yaml.compose(text, Loader=_Loader)]
    except yaml.YAMLError:
        return found
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            found.setdefault(node.start_mark.index, node)
        stack.extend(_children(node) if node is not None else ())
    return found


def _node_at(text: str, start: int) -> Node | None:
    return _composed(text).get(start)


def describe(node: Node) -> str:
    """What a node is, for messages: ``a list``, ``an integer 5``, ``null``."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    assert isinstance(node, ScalarNode)
    if node.tag == NULL:
        return "nothing (null)"
    if node.tag == STR:
        return f"the text {node.value!r}"
    return f"{_TAG_NAMES.get(node.tag, 'a value')} {node.value!r}"


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


@dataclasses.dataclass(frozen=True)
class _FieldSpec:
    name: str
    type: Any
    required: bool
    default: Any
    plan: Callable[[Converter, Node, str], Any]
    allows_none: bool


@functools.cache
def _fields_of(cls: type) -> tuple[_FieldSpec, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    specs = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory
        specs.append(_FieldSpec(f.name, tp, required, None if required else default, _plan(tp), _allows_none(tp)))
    return tuple(specs)


@dataclasses.dataclass(frozen=True)
class _Form:
    """What :meth:`Converter.build` needs of a model class, worked out once per class."""

    specs: dict[str, _FieldSpec]
    required: tuple[str, ...]
    has_id: bool
    kind: str


@functools.cache
def _form_of(cls: type) -> _Form:
    specs = {spec.name: spec for spec in _fields_of(cls)}
    return _Form(specs, tuple(name for name, spec in specs.items() if spec.required), "id" in specs, _kind_name(cls))


def _kind_name(cls: type) -> str:
    """``RosterChange`` → ``roster change``, for messages."""
    name = cls.__name__.removesuffix("File")
    out = "".join(" " + c.lower() if c.isupper() else c for c in name).strip()
    return out or name.lower()


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is typing.Annotated:
        meta = [m for m in tp.__metadata__ if isinstance(m, Spelled)]
        if meta and meta[0].what:
            return meta[0].what
        return _type_name(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if set(args) == {date, datetime}:
            return "a date or datetime"
        return " or ".join(_type_name(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin is tuple:
        return "a list"
    if origin is dict:
        return "a mapping"
    if _is_dataclass_type(tp):
        return "a mapping"
    return {
        str: "a string",
        int: "an integer",
        bool: "true or false",
        float: "a number",
        date: "a date (YYYY-MM-DD)",
        datetime: "a datetime",
        timedelta: "a duration",
        time: "a clock time HH:MM",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def parse_date_or_datetime(text: str) -> date | datetime:
    """``2026-12-24`` → date; ``2026-12-24T09:00`` (offset optional) → datetime."""
    text = text.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)


class Converter:
    """Builds model values from nodes of one file, reporting problems into ``findings``.

    ``line_base`` and ``index_base`` place nodes composed from a stretch of the file
    (rather than the whole file) at their lines and character offsets in it.
    """

    def __init__(self, path: str, sources: SourceMap, findings: list[Finding], broken: set[str] | None = None) -> None:
        self.path = path
        self.sources = sources
        self.findings = findings
        self.broken = broken if broken is not None else set()
        """Ids of objects left out for their errors, so references to them are not reported again."""
        self.line_base = 0
        self.index_base = 0
        self.batch_end = -1
        self.batch_tail = 0
        self.on_batch: Callable[[Node, int], None] | None = None
        """Called with each batch's nodes and first line, while they exist (for placeholders)."""
        self.around_batch: Callable[[Batch, Callable[[], list[Any]]], list[Any]] | None = None
        """Reads a batch's items by calling its second argument, or finds them elsewhere (a cache)."""
        self.registered: list[tuple[object, Location, int, int]] | None = None
        """When a list, every object built is also added to it (for a cache)."""

    def loc(self, node: Node) -> Location:
        mark = node.start_mark
        return Location(self.path, mark.line + 1 + self.line_base, mark.column + 1)

    def fail(self, node: Node, message: str, *, hint: str = "", code: str = "type") -> Any:
        self.findings.append(error(message, self.loc(node), hint=hint, code=code))
        return INVALID

    # -- dispatch ----------------------------------------------------------------------

    def convert(self, node: Node, tp: Any, what: str) -> Any:
        """Convert ``node`` to ``tp``; ``what`` names the value in messages."""
        return _plan(tp)(self, node, what)

    # -- containers --------------------------------------------------------------------

    def build(
        self, node: Node, cls: type, what: str, batched: Batched | None = None, text: str = "", skip: frozenset[str] = frozenset()
    ) -> Any:
        """Build dataclass ``cls`` from a mapping node, and register where it was written.

        Only the object's own place is kept; its fields' places are read again from the
        text when a finding asks (:func:`read_fields`). With ``batched`` (for the document's
        top level), the lists it names are read from ``text`` a batch at a time instead of
        from ``node``, where they stand as ``[]``. The optional keys in ``skip`` are not read
        (nor, when batched, composed): they take their defaults, and say nothing.
        """
        if node.__class__ is not MappingNode:
            return self.fail(node, f"{what}: expected a mapping, got {describe(node)}")
        form = _form_of(cls)
        specs = form.specs
        identity = _id_of(node) if form.has_id else None
        if identity is not None:
            what = f"{form.kind} {identity!r}"
        if batched is not None:
            _check_batchable(node, specs, batched)
        values: dict[str, Any] = {}
        seen: dict[str, Node] = {}
        ok = True
        for key_node, value_node in node.value:
            key = self._new_key(key_node, seen, what)
            if key is None:
                ok = False
                continue
            spec = specs.get(key)
            if spec is None:
                hint = "YAML merge keys are not supported; repeat the values" if key == "<<" else ""
                self.fail(
                    key_node, f"unknown key {key!r} in {form.kind}{did_you_mean(key, specs)}", hint=hint, code="unknown-key"
                )
                ok = False
                continue
            if key in skip and not spec.required:
                continue
            if value_node.tag == NULL and not spec.allows_none and value_node.__class__ is ScalarNode:
                if spec.required:
                    self.fail(value_node, f"{what}: {key!r} needs a value ({_type_name(spec.type)})", code="missing-key")
                    ok = False
                # an empty optional section takes its default; validate warns about it
                continue
            if batched is not None and key in batched.lists:
                value = self._batched_sequence(spec.type, batched.lists[key], text, key)
            else:
                value = spec.plan(self, value_node, key)
            if value is INVALID:
                # A required field is lost with its object; an optional one takes its
                # default so that the other checks still see the rest of the object.
                ok = ok and not spec.required
                continue
            values[key] = value
        for name in form.required:
            if name not in seen:
                self.findings.append(error(f"{what}: missing required key {name!r}", self.loc(node), code="missing-key"))
                ok = False
        if not ok:
            if identity is not None:
                self.broken.add(identity)
            return INVALID
        obj = cls(**values)
        at, start, end = self.loc(node), node.start_mark.index + self.index_base, node.end_mark.index + self.index_base
        if end == self.batch_end:
            end += self.batch_tail
        self.sources.register(obj, at, start, end)
        if self.registered is not None:
            self.registered.append((obj, at, start, end))
        return obj

    def _batched_sequence(self, tp: Any, batches: list[Batch], text: str, what: str) -> Any:
        """A list of objects read a batch at a time; raises :class:`Unbatchable` when a batch does not compose to its items."""
        item_type = get_args(tp)[0]
        item = _plan(item_type)
        items: list[Any] = []
        for batch in batches:
            read = functools.partial(self._read_batch, batch, text, item, what)
            items += self.around_batch(batch, read) if self.around_batch is not None else read()
        if any(value is INVALID for value in items):
            if _is_dataclass_type(item_type):
                return tuple(value for value in items if value is not INVALID)
            return INVALID
        return tuple(items)

    def _read_batch(self, batch: Batch, text: str, item: Plan, what: str) -> list[Any]:
        node = yaml.compose(text[batch.start : batch.end], Loader=_Loader)
        if node.__class__ is not SequenceNode or len(node.value) != batch.count:
            raise Unbatchable
        self.line_base, self.index_base = batch.line, batch.start
        self.batch_end, self.batch_tail = batch.end, batch.tail
        try:
            items = [item(self, child, f"{what}[{batch.first + i}]") for i, child in enumerate(node.value)]
            if self.on_batch is not None:
                self.on_batch(node, batch.line)
        finally:
            self.line_base = self.index_base = self.batch_tail = 0
            self.batch_end = -1
        return items

    def _new_key(self, key_node: Node, seen: dict[str, Node], what: str) -> str | None:
        """The key's text, added to ``seen``; None (reported) when it is not text or repeats one in ``seen``."""
        if key_node.__class__ is ScalarNode and key_node.tag == STR:
            key: str | None = key_node.value
        else:
            key = self._key(key_node, what)
        if key is None:
            return None
        if key in seen:
            first = self.loc(seen[key]).line
            self.fail(key_node, f"duplicate key {key!r} in {what} (first at line {first})", code="duplicate-key")
            return None
        seen[key] = key_node
        return key

    def _key(self, node: Node, what: str) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag not in (STR, "tag:yaml.org,2002:merge"):
            self.fail(node, f"{what}: keys must be text, got {describe(node)}", code="type")
            return None
        return str(node.value)

    def _sequence(self, node: Node, item: Callable[[Converter, Node, str], Any], objects: bool, what: str) -> Any:
        if not isinstance(node, SequenceNode):
            hint = "write a list, e.g. [a, b] or one '- item' per line" if isinstance(node, ScalarNode) else ""
            return self.fail(node, f"{what}: expected a list, got {describe(node)}", hint=hint)
        items = [item(self, child, f"{what}[{i}]") for i, child in enumerate(node.value)]
        if any(value is INVALID for value in items):
            if objects:
                # keep the good objects: each bad one was reported, and its id is in `broken`
                return tuple(value for value in items if value is not INVALID)
            return INVALID
        return tuple(items)

    def _mapping(self, node: Node, value_plan: Callable[[Converter, Node, str], Any], what: str) -> Any:
        if not isinstance(node, MappingNode):
            return self.fail(node, f"{what}: expected a mapping, got {describe(node)}")
        out: dict[str, Any] = {}
        seen: dict[str, Node] = {}
        ok = True
        for key_node, value_node in node.value:
            key = self._new_key(key_node, seen, what)
            if key is None:
                ok = False
                continue
            value = value_plan(self, value_node, f"{what}.{key}")
            if value is INVALID:
                ok = False
            else:
                out[key] = value
        return out if ok else INVALID

    def _literal(self, node: Node, options: tuple[Any, ...], what: str) -> Any:
        if not isinstance(node, ScalarNode):
            return self.fail(node, f"{what}: expected one of {_options(options)}, got {describe(node)}")
        for option in options:
            if isinstance(option, bool):
                continue
            if isinstance(option, int) and node.tag == INT and _int(node.value) == option:
                return option
            if isinstance(option, str) and node.tag == STR and node.value == option:
                return option
        hint = did_you_mean(str(node.value), [str(o) for o in options])
        return self.fail(node, f"{what}: {node.value!r} is not one of {_options(options)}{hint}", code="invalid-value")


Plan = Callable[[Converter, Node, str], Any]


@functools.cache
def _plan(tp: Any) -> Plan:
    """A converter for type ``tp``, worked out once per type (the model's types are few)."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        base, *meta = get_args(tp)
        inner = _plan(base)
        markers = [m for m in meta if isinstance(m, Spelled)]
        checked: dict[str, str | None] = {}
        """Answers of markers with a check of their own (a time zone looked up): few distinct values, many repeats."""

        def annotated(conv: Converter, node: Node, what: str) -> Any:
            value = inner(conv, node, what)
            if isinstance(value, str):
                for marker in markers:
                    if marker.check is None:
                        problem = marker.problem(value)
                    elif value in checked:
                        problem = checked[value]
                    else:
                        problem = checked[value] = marker.problem(value)
                    if problem:
                        return conv.fail(node, f"{what}: {problem}", code="invalid-value")
            return value

        return annotated
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        nullable = type(None) in args
        rest = [a for a in args if a is not type(None)]
        if set(rest) == {date, datetime}:
            body: Plan = _date_or_datetime
        elif len(rest) == 1:
            body = _plan(rest[0])
        else:  # pragma: no cover - the model has no other unions
            raise TypeError(f"unsupported union {tp!r}")

        def union(conv: Converter, node: Node, what: str) -> Any:
            if nullable and isinstance(node, ScalarNode) and node.tag == NULL:
                return None
            return body(conv, node, what)

        return union
    if origin is Literal:
        options = get_args(tp)
        return lambda conv, node, what: conv._literal(node, options, what)
    if origin is tuple:
        item_type = get_args(tp)[0]
        item, objects = _plan(item_type), _is_dataclass_type(item_type)
        return lambda conv, node, what: conv._sequence(node, item, objects, what)
    if origin is dict:
        value_plan = _plan(get_args(tp)[1])
        return lambda conv, node, what: conv._mapping(node, value_plan, what)
    if _is_dataclass_type(tp):
        return lambda conv, node, what: conv.build(node, tp, what)
    scalar = _SCALARS.get(tp)
    if scalar is None:  # pragma: no cover - a model type without a converter is a bug
        raise TypeError(f"no YAML converter for {tp!r}")
    return scalar


def _id_of(node: MappingNode) -> str | None:
    """The scalar ``id`` of a mapping, to name it in messages."""
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == "id" and isinstance(value_node, ScalarNode):
            return str(value_node.value) or None
    return None


def _options(options: tuple[Any, ...]) -> str:
    return ", ".join(str(o) for o in options)


def _allows_none(tp: Any) -> bool:
    if get_origin(tp) is typing.Annotated:
        return _allows_none(get_args(tp)[0])
    return get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp)


def _int(text: str) -> int | None:
    try:
        return int(text.replace("_", ""), 0)
    except ValueError:
        return None


def _scalar_text(conv: Converter, node: Node, what: str, expected: str, *, tags: tuple[str, ...]) -> str | None:
    """The text of a scalar whose resolved tag is one of ``tags``, else report and None."""
    if isinstance(node, ScalarNode) and node.tag in tags:
        return str(node.value)
    hint = ""
    if isinstance(node, ScalarNode) and node.tag != NULL and STR in tags:
        hint = f'quote it to make it text: "{node.value}"'
    conv.fail(node, f"{what}: expected {expected}, got {describe(node)}", hint=hint)
    return None


def _str(conv: Converter, node: Node, what: str) -> Any:
    if node.tag == STR and node.__class__ is ScalarNode:
        return node.value
    text = _scalar_text(conv, node, what, "a string", tags=(STR,))
    return INVALID if text is None else text


def _bool(conv: Converter, node: Node, what: str) -> Any:
    if isinstance(node, ScalarNode) and node.tag == BOOL:
        return node.value.lower() in ("true", "yes", "on", "y")
    return conv.fail(node, f"{what}: expected true or false, got {describe(node)}")


def _int_value(conv: Converter, node: Node, what: str) -> Any:
    if isinstance(node, ScalarNode) and node.tag == INT:
        value = _int(node.value)
        if value is not None:
            return value
    return conv.fail(node, f"{what}: expected an integer, got {describe(node)}")


def _float(conv: Converter, node: Node, what: str) -> Any:
    if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT):
        try:
            return float(node.value.replace("_", ""))
        except ValueError:
            pass
    return conv.fail(node, f"{what}: expected a number, got {describe(node)}")


def _spelled(expected: str, parse: Callable[[str], Any]) -> Plan:
    """A converter for a value spelled as text and read by ``parse`` (which raises ValueError).

    Any non-null scalar is taken as text: a clock time such as 10:30 resolves to a YAML
    integer (base 60), but the user meant the text.
    """

    def convert(conv: Converter, node: Node, what: str) -> Any:
        if not isinstance(node, ScalarNode) or node.tag == NULL:
            return conv.fail(node, f"{what}: expected {expected}, got {describe(node)}")
        try:
            return parse(str(node.value))
        except ValueError as exc:
            return conv.fail(node, f"{what}: {exc}", code="invalid-value")

    return convert


_duration = _spelled("a duration such as 30m, 4h, 1d or 1w", parse_duration)
_clock = _spelled("a clock time HH:MM", parse_clock)


def _date(conv: Converter, node: Node, what: str) -> Any:
    text = _scalar_text(conv, node, what, "a date (YYYY-MM-DD)", tags=(STR, TIMESTAMP))
    if text is None:
        return INVALID
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return conv.fail(node, f"{what}: {text!r} is not a date (YYYY-MM-DD)", code="invalid-value")


def _datetime(conv: Converter, node: Node, what: str) -> Any:
    value = _date_or_datetime(conv, node, what)
    if value is INVALID or isinstance(value, datetime):
        return value
    return conv.fail(node, f"{what}: expected a datetime, got a date", code="invalid-value")


def _date_or_datetime(conv: Converter, node: Node, what: str) -> Any:
    text = _scalar_text(conv, node, what, "a date or an ISO 8601 datetime", tags=(STR, TIMESTAMP))
    if text is None:
        return INVALID
    try:
        return parse_date_or_datetime(text)
    except ValueError:
        return conv.fail(
            node,
            f"{what}: {text!r} is not a date (YYYY-MM-DD) or an ISO 8601 datetime (YYYY-MM-DDTHH:MM)",
            code="invalid-value",
        )


_SCALARS: dict[Any, Callable[[Converter, Node, str], Any]] = {
    str: _str,
    bool: _bool,
    int: _int_value,
    float: _float,
    timedelta: _duration,
    time: _clock,
    date: _date,
    datetime: _datetime,
}


# -- long lists composed a batch at a time ---------------------------------------------------

BATCH_ITEMS = 200
"""Items of a long top-level list composed together: a node tree takes some fifty times the
memory of its text, so a 10,000-pipeline ownership.yaml is never composed whole."""

_TOP_KEY = re.compile(r"([A-Za-z_][\w.-]*)[ \t]*:(?:[ \t].*)?\r?$")
_TOP_LEVEL_LINE = re.compile(r"^[^ \t\r\n#].*$", re.MULTILINE)
_CONTENT_LINE = re.compile(r"^( *)([^ \r\n#].*)$", re.MULTILINE)
_ITEM = re.compile(r"-(?: |\r?$)")
_TAB_INDENT = re.compile(r"\n *\t")
_BLANK = bytes(c if c in b"\r\n" else 32 for c in range(256))
"""Every byte but line breaks to a space."""
_NOT_A_BREAK = re.compile(r"[^\r\n]+")
_EMPTY_TOP_KEY = re.compile(r"[A-Za-z_][\w.-]*[ \t]*:[ \t]*\r?$")
_NODE_PROPERTY = re.compile(r"[&*!][^\s\[\]{},]")
"""What may be an anchor, alias or tag (when at the start of a line or after a space or
``[{,``): a document with these is composed whole (an alias may reach across batches)."""


def _has_node_property(text: str) -> bool:
    for match in _NODE_PROPERTY.finditer(text):
        at = match.start()
        if at == 0 or text[at - 1] in " \t\r\n[{,":
            return True
    return False


class Unbatchable(Exception):
    """A batch did not compose to the items it was cut for: the document is composed whole."""


def _check_batchable(node: MappingNode, specs: dict[str, _FieldSpec], batched: Batched) -> None:
    """Raise :class:`Unbatchable` unless each batched list stands once under a key that reads a
    list: under an unknown or repeated key, or one that reads something else, the batches
    would not be composed the way the whole document is (its placeholders, for one, would
    go unseen), so such a document, broken anyway, is composed whole."""
    counts: dict[str, int] = {}
    for key_node, _ in node.value:
        if key_node.__class__ is ScalarNode and key_node.value in batched.lists:
            counts[key_node.value] = counts.get(key_node.value, 0) + 1
    for key in batched.lists:
        spec = specs.get(key)
        if counts.get(key) != 1 or spec is None or get_origin(spec.type) is not tuple:
            raise Unbatchable


@dataclasses.dataclass(frozen=True)
class Batch:
    """Items ``first`` to ``first + count`` of a top-level list, written in ``text[start:end]``
    from line ``line`` (0-based)."""

    first: int
    count: int
    start: int
    end: int
    line: int
    tail: int = 0
    """From ``end`` to the next item's ``-``: composed whole, a value that ends the batch ends there."""


@dataclasses.dataclass(frozen=True)
class Batched:
    """A document whose long top-level lists are composed a batch at a time.

    ``skeleton`` is the text with those lists' items blanked out (same length and lines, so
    every other value keeps its place) and ``[]`` written in their stead.
    """

    skeleton: str
    lists: dict[str, list[Batch]]


def split_batches(text: str, size: int | None = None) -> Batched | None:
    """Cut the long block lists under top-level keys into batches of ``size`` items; None
    when the document is not laid out plainly enough to be sure that composing the
    batches apart reads the same values as composing it whole (then it is composed whole).

    A batch starts at a line ``- ...`` at the list's indentation; a quoted scalar or a flow
    collection cut by such a line leaves its batch unterminated, which fails to compose,
    and the caller then composes the document whole. The text is scanned with regular
    expressions only: a line-by-line loop cost more than composing.
    """
    size = size or BATCH_ITEMS
    if _has_node_property(text) or _TAB_INDENT.search("\n" + text[:256]) or _TAB_INDENT.search(text):
        return None
    tops = list(_TOP_LEVEL_LINE.finditer(text))
    lists: dict[str, list[Batch]] = {}
    blank: list[tuple[int, int]] = []  # character ranges to blank out
    line = 0
    counted = 0
    number = 0
    while number < len(tops):
        top = tops[number]
        row = top.group(0)
        number += 1
        key = _TOP_KEY.match(row)
        if key is None:
            return None  # a document marker, a directive, a flow or quoted top level, an item of no key, …
        if not _EMPTY_TOP_KEY.match(row):
            continue
        # the block under an empty top-level key runs to the next top-level line that is not an item of it
        begin = top.end() + 1
        first = _CONTENT_LINE.search(text, begin)
        if first is None or not first.group(2).startswith("-"):
            continue  # empty, or a mapping: composed with the rest
        indent = len(first.group(1))
        while indent == 0 and number < len(tops) and _ITEM.match(tops[number].group(0)):
            number += 1  # a list at the key's own indentation: its items are top-level lines
        end = tops[number].start() if number < len(tops) else len(text)
        # The patterns start with the line break, which the regex engine finds fast.
        prefix = " " * indent
        item_line = re.compile(f"\n{prefix}-(?: |\r?\n|\r?$)")
        items = [m.start() + 1 for m in item_line.finditer(text, first.start() - 1, end)]
        shallower = re.compile(f"\n {{0,{indent - 1}}}[^ \r\n#]") if indent else None
        if (shallower is not None and shallower.search(text, begin - 1, end)) or re.compile(
            f"\n{prefix}(?:[^ \r\n#-]|-[^ \r\n])"
        ).search(text, begin - 1, end):
            return None  # not one plain list
        if len(items) <= size:
            continue
        if text.find("\n", items[0], end) - items[0] < indent + 3:
            return None  # no room to write [] in place of the first item
        batches = []
        for at in range(0, len(items), size):
            start = items[at]
            stop = items[at + size] if at + size < len(items) else end
            line += text.count("\n", counted, start)
            counted = start
            batches.append(Batch(at, min(size, len(items) - at), start, stop, line, indent if stop < end else 0))
        lists[key.group(1)] = batches
        blank.append((items[0], end))
    if not lists:
        return None
    pieces: list[str] = []
    done = 0
    for begin, end in blank:
        pieces.append(text[done:begin])
        segment = text[begin:end]
        if segment.isascii():
            blanked = segment.encode("ascii").translate(_BLANK).decode("ascii")
        else:
            blanked = _NOT_A_BREAK.sub(lambda m: " " * len(m.group(0)), segment)
        depth = len(segment) - len(segment.lstrip(" "))
        pieces.append(blanked[: depth + 1] + "[]" + blanked[depth + 3 :])  # indented, so it is the key's value
        done = end
    pieces.append(text[done:])
    skeleton = "".join(pieces)
    assert len(skeleton) == len(text)
    return Batched(skeleton, lists)
