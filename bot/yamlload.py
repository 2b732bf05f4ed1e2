"""Bounded YAML loading for files an organisation writes (the org file).

`load(text)` builds plain values straight from the YAML event stream (libyaml's parser when
installed), without PyYAML's node graph, so the cost is one pass over the text:

- every mapping is a `Lined` dict that knows its own line and the line of each key, for
  line-numbered errors;
- aliases keep PyYAML's meaning (the alias *is* the anchored value, shared, never copied), but
  everything they stand for is counted: all aliases together may stand for at most
  `ALIAS_ALLOWANCE` values more than the file writes out. A "billion laughs" file (aliases of
  aliases of aliases) is refused at the first alias over that bound, in time proportional to
  the part of the file read so far;
- an alias inside the value it names (a cycle), an undefined alias, nesting deeper than
  `MAX_DEPTH`, a second document and a non-scalar mapping key are refused too;
- scalars resolve as in `yaml.safe_load` (YAML 1.1: `yes` is true, `2026-12-24` a date).

Every refusal is a `YamlLimitError` carrying the line and a fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

MAX_DEPTH = 64
ALIAS_ALLOWANCE = 100_000

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()
_NEEDS_RESOLVING = frozenset(_resolver.yaml_implicit_resolvers) - {""}


class Lined(dict[str, Any]):
    """A mapping that remembers the line it started on and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class YamlLimitError(Exception):
    def __init__(self, line: int, message: str, fix: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message
        self.fix = fix


@dataclass
class _Frame:
    value: Lined | list[Any]
    line: int
    anchor: str | None
    size: int = 1  # values inside, counting this one and what aliases stand for
    key: Any = None
    key_line: int = 0
    has_key: bool = False


def _line(event: Any) -> int:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else 1


def _scalar(event: Any) -> Any:
    value = event.value
    tag = event.tag
    if tag is None or tag == "!":
        plain = event.implicit[0]
        if not plain or not value or value[0] not in _NEEDS_RESOLVING:
            if plain and value == "":
                return None  # an empty plain scalar is null
            return value
        tag = _resolver.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    if tag == _STR:
        return value
    build = _constructor.yaml_constructors.get(tag)
    if build is None or tag in (_MAP, _SEQ):
        raise YamlLimitError(
            _line(event), f"the tag {tag} is not allowed here", "remove the tag ('!...')"
        )
    node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
    try:
        return build(_constructor, node)
    except (yaml.YAMLError, ValueError, TypeError) as e:
        raise YamlLimitError(
            _line(event), f"'{value}' is not a valid {tag}", "fix the value"
        ) from e


class _Builder:
    def __init__(self, allowance: int, max_depth: int) -> None:
        self.allowance = allowance
        self.max_depth = max_depth
        self.written = 0  # values written out in the file
        self.aliased = 0  # values that aliases stand for
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.documents = 0

    def run(self, text: str) -> Any:
        for event in yaml.parse(text, Loader=_Parser):
            self.event(event)
        return self.root

    def event(self, event: Any) -> None:
        if isinstance(event, yaml.ScalarEvent):
            self.written += 1
            value = _scalar(event)
            self.anchor(event.anchor, value, 1)
            self.attach(value, 1, event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self.open(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            frame = self.stack.pop()
            if frame.anchor is not None:
                self.open_anchors.discard(frame.anchor)
            self.anchor(frame.anchor, frame.value, frame.size)
            self.attach(frame.value, frame.size, event)
        elif isinstance(event, yaml.AliasEvent):
            self.alias(event)
        elif isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise YamlLimitError(
                    _line(event),
                    "the file holds more than one YAML document ('---')",
                    "keep one document: remove the second '---' and what follows, or merge them",
                )

    def open(self, event: Any) -> None:
        if len(self.stack) >= self.max_depth:
            raise YamlLimitError(
                _line(event),
                f"values are nested more than {self.max_depth} levels deep",
                "flatten the structure; an org file needs a few levels only",
            )
        tag = event.tag
        is_map = isinstance(event, yaml.MappingStartEvent)
        if tag not in (None, "!", _MAP if is_map else _SEQ):
            raise YamlLimitError(
                _line(event), f"the tag {tag} is not allowed here", "remove the tag ('!...')"
            )
        self.written += 1
        value: Lined | list[Any]
        if is_map:
            value = Lined()
            value.line = _line(event)
            value.key_lines = {}
        else:
            value = []
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(value, _line(event), event.anchor))

    def anchor(self, name: str | None, value: Any, size: int) -> None:
        if name is not None:
            self.anchors[name] = (value, size)

    def alias(self, event: Any) -> None:
        name = event.anchor
        line = _line(event)
        if name in self.open_anchors:
            raise YamlLimitError(
                line,
                f"the alias *{name} is inside the value it names (a loop)",
                f"write the value out instead of '*{name}'",
            )
        if name not in self.anchors:
            raise YamlLimitError(
                line,
                f"the alias *{name} names no anchor above it",
                f"define '&{name}' before using '*{name}', or write the value out",
            )
        value, size = self.anchors[name]
        self.aliased += size
        if self.aliased > self.allowance + self.written:
            raise YamlLimitError(
                line,
                f"aliases stand for more than {self.allowance:,} values beyond those written "
                f"out (at *{name}); the file would expand without bound (a YAML alias bomb?)",
                "write the values out, or use fewer and smaller aliases",
            )
        self.attach(value, size, event)

    def attach(self, value: Any, size: int, event: Any) -> None:
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        frame.size += size
        if isinstance(frame.value, list):
            frame.value.append(value)
            return
        if not frame.has_key:
            if isinstance(value, dict | list):
                raise YamlLimitError(
                    _line(event),
                    "a key must be a single value, not a list or mapping",
                    "write 'key: value'",
                )
            frame.key, frame.key_line, frame.has_key = value, _line(event), True
            return
        key = str(frame.key)
        frame.value[key] = value
        frame.value.key_lines[key] = frame.key_line
        frame.has_key = False


def load(text: str, allowance: int = ALIAS_ALLOWANCE, max_depth: int = MAX_DEPTH) -> Any:
    """The YAML document in `text` as plain values (mappings are `Lined`).

    Raises `YamlLimitError` for the limits above and `yaml.YAMLError` for invalid YAML.
    """
    return _Builder(allowance, max_depth).run(text)
