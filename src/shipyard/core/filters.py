"""The run-search filter language: ``parse_filter`` for filters, ``parse_order_by`` for sort orders.

A filter is one or more comparisons joined by ``AND``::

    metrics.auc > 0.9 AND params.optimizer = 'adam' AND attributes.status = 'finished'

Grammar::

    filter      := comparison ( AND comparison )*
    comparison  := identifier operator value
    identifier  := entity "." key
    entity      := metrics | params | tags | attributes      (or metric, param, tag, attribute, attr)
    key         := [A-Za-z0-9_./:-]+     everything after the first dot: metrics.train.loss has key train.loss
                 | `any text`            backticks or double quotes for keys with spaces: metrics.`my loss`
                 | "any text"
    operator    := = | != | <> | < | <= | > | >= | LIKE | ILIKE      (<> means !=)
    value       := number | 'text' | "text"
    number      := [+-] digits [. digits] [e [+-] digits]          e.g. 3, -0.5, .25, 1e-3, 2.5E+4

``AND``, ``LIKE``, ``ILIKE``, entity names and attribute names are case-insensitive; keys and values are not
(except ``status``, whose value is matched in any case). To put a quote character inside a quoted value or key,
write it twice: ``'it''s'``. Backslashes have no special meaning and are kept as written.

What each identifier accepts:

| identifier | operators | value |
| --- | --- | --- |
| ``metrics.<key>`` | ``= != < <= > >=`` | a number |
| ``params.<key>``, ``tags.<key>`` | ``= != LIKE ILIKE`` | a quoted string (quote numbers too: ``'0.01'``) |
| ``attributes.name`` | ``= != LIKE ILIKE`` | a quoted string |
| ``attributes.status`` | ``= !=`` | ``'running'``, ``'finished'``, ``'failed'`` or ``'crashed'`` |
| ``attributes.run_id`` (or ``id``), ``attributes.parent_id`` | ``= !=`` | a quoted string |
| ``attributes.start_time``, ``attributes.end_time`` | ``= != < <= > >=`` | a number: milliseconds since the epoch |

``LIKE`` and ``ILIKE`` take SQL patterns: ``%`` matches any run of characters, ``_`` any one character;
``ILIKE`` ignores case. There is no ``OR``, ``NOT`` or parenthesis: run one search per alternative instead.

An order-by item is an identifier, optionally followed by ``ASC`` or ``DESC`` (the default is ascending)::

    ["metrics.auc DESC", "attributes.start_time"]

Runs can be ordered by any metric, param or tag, and by the attributes ``name``, ``status``, ``start_time``,
``end_time`` and ``run_id``.

Limits: a filter holds at most ``MAX_COMPARISONS`` (50) comparisons and an order-by at most ``MAX_ORDER_BY``
(10) items. Each comparison or sort key on another metric, param or tag joins one more table to the query,
and SQLite joins at most 64 (``runs`` and ``projects`` take two); PostgreSQL takes more, but its planning time
grows fast past a few dozen joins. A longer filter is ``InvalidInput`` naming the limit.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shipyard.core.entities import RunStatus
from shipyard.core.errors import FilterSyntaxError, InvalidInput

__all__ = ["MAX_COMPARISONS", "MAX_ORDER_BY", "Comparison", "OrderBy", "parse_filter", "parse_order_by"]

MAX_COMPARISONS = 50
MAX_ORDER_BY = 10

Entity = Literal["metrics", "params", "tags", "attributes"]
Operator = Literal["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One ``identifier operator value`` term; ``column`` (1-based) is where it starts in the filter text."""

    entity: Entity
    key: str
    op: Operator
    value: float | str
    column: int


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One sort key of a run search."""

    entity: Entity
    key: str
    descending: bool


@dataclass(frozen=True, slots=True)
class _Rule:
    """What one identifier may be compared with."""

    operators: tuple[Operator, ...]
    numeric: bool
    choices: tuple[str, ...] = ()


_ENTITIES: dict[str, Entity] = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
}
_ORDERING: tuple[Operator, ...] = ("=", "!=", "<", "<=", ">", ">=")
_EQUALITY: tuple[Operator, ...] = ("=", "!=")
_MATCHING: tuple[Operator, ...] = ("=", "!=", "LIKE", "ILIKE")
_TEXT = _Rule(_MATCHING, numeric=False)
_RULES: dict[Entity, _Rule] = {"metrics": _Rule(_ORDERING, numeric=True), "params": _TEXT, "tags": _TEXT}
_ATTRIBUTE_RULES: dict[str, _Rule] = {
    "name": _TEXT,
    "status": _Rule(_EQUALITY, numeric=False, choices=tuple(status.value for status in RunStatus)),
    "run_id": _Rule(_EQUALITY, numeric=False),
    "parent_id": _Rule(_EQUALITY, numeric=False),
    "start_time": _Rule(_ORDERING, numeric=True),
    "end_time": _Rule(_ORDERING, numeric=True),
}
_ATTRIBUTE_ALIASES = {"id": "run_id"}
_SORTABLE_ATTRIBUTES = ("name", "status", "start_time", "end_time", "run_id")
_OPERATORS: dict[str, Operator] = {
    **{op: op for op in ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE")},
    "<>": "!=",
}
_OPERATOR_LIST = "=, !=, <, <=, >, >=, LIKE, ILIKE"

_SPACE = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z_]\w*")
_DOT = re.compile(r"\.")
_KEY = re.compile(r"[A-Za-z0-9_./:-]+")
_OPERATOR = re.compile(r"<>|!=|<=|>=|==|=|<|>|(?i:i?like)\b")
# The lookahead refuses things like "1.2.3" or "5abc" instead of reading a number and leaving the rest behind.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?![\w.])")
# Possessive, so that 'abc'' is reported as unterminated rather than read as 'abc' followed by a stray quote.
_QUOTED = {quote: re.compile(f"{quote}((?:[^{quote}]|{quote}{quote})*+){quote}") for quote in "'\"`"}
# What "found ..." shows in a message: a quoted string, a word or number, a run of operator characters, or one char.
_TOKEN = re.compile(r"""'[^']*'?|"[^"]*"?|`[^`]*`?|[\w.:/+-]+|[<>=!]+|\S""")


def parse_filter(text: str | None) -> list[Comparison]:
    """Parse a filter into the comparisons it joins with AND; an empty or blank filter matches every run.

    >>> parse_filter("metrics.auc > 0.9 and param.optimizer = 'adam'")[1]
    Comparison(entity='params', key='optimizer', op='=', value='adam', column=23)
    """
    if text is None:
        return []
    scanner = _Scanner(text, "filter")
    comparisons: list[Comparison] = []
    scanner.skip_space()
    if scanner.at_end():
        return comparisons
    while True:
        comparisons.append(_comparison(scanner))
        scanner.skip_space()
        if scanner.at_end():
            return _within_limit(comparisons)
        start = scanner.pos
        word = (scanner.match(_WORD) or "").upper()
        if word == "AND":
            scanner.skip_space()
            continue
        if word == "OR":
            raise scanner.error(
                "OR is not supported; join comparisons with AND, or run one search per alternative", start
            )
        raise scanner.error(f"expected AND or the end of the filter but found {scanner.found(start)}", start)


def _within_limit(comparisons: list[Comparison]) -> list[Comparison]:
    # Checked once the whole filter has parsed, so the message can say how long it is (and a syntax
    # error anywhere in it is still reported where it is).
    if len(comparisons) > MAX_COMPARISONS:
        raise InvalidInput(
            f"The filter has {len(comparisons):,} comparisons; a filter holds at most {MAX_COMPARISONS} (each one "
            "on another key joins a table, and databases limit joins). Keep the most selective comparisons and "
            "check the rest on the runs returned."
        )
    return comparisons


def parse_order_by(items: Sequence[str] | None) -> list[OrderBy]:
    """Parse sort keys such as ``["metrics.auc DESC", "attributes.start_time"]``, most significant first."""
    if items is None:
        return []
    if isinstance(items, str):
        raise InvalidInput(f"order_by takes a list of items, not a single string; got {items!r}. Pass [{items!r}].")
    items = list(items)
    if len(items) > MAX_ORDER_BY:
        raise InvalidInput(
            f"order_by holds at most {MAX_ORDER_BY} items; got {len(items)}. Sort by the first few keys; runs "
            "that tie on all of them come newest first."
        )
    return [_order_by(item) for item in items]


class _Scanner:
    """A cursor over the text being parsed, and the one place errors get their column."""

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_space(self) -> None:
        self.match(_SPACE)

    def match(self, pattern: re.Pattern[str]) -> str | None:
        """Consume and return the text ``pattern`` matches here, or return None and consume nothing."""
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group()

    def found(self, pos: int | None = None) -> str:
        """Describe what is at ``pos`` (default: here) for a "but found …" message."""
        pos = self.pos if pos is None else pos
        if pos >= len(self.text):
            return f"the end of the {self.what}"
        if self.text[pos].isspace():
            return "a space"
        token = _TOKEN.match(self.text, pos)
        shown = token.group() if token else self.text[pos]
        return repr(shown if len(shown) <= 30 else shown[:29] + "…")

    def error(self, message: str, pos: int | None = None) -> FilterSyntaxError:
        return FilterSyntaxError(message, text=self.text, column=(self.pos if pos is None else pos) + 1)


def _comparison(scanner: _Scanner) -> Comparison:
    start = scanner.pos
    entity, key = _identifier(scanner, attributes=tuple(_ATTRIBUTE_RULES))
    rule = _ATTRIBUTE_RULES[key] if entity == "attributes" else _RULES[entity]
    identifier = scanner.text[start : scanner.pos]
    scanner.skip_space()

    op_pos = scanner.pos
    written = scanner.match(_OPERATOR)
    if written is None:
        raise scanner.error(
            f"expected a comparison operator ({_OPERATOR_LIST}) after {identifier!r} but found {scanner.found()}"
        )
    if written == "==":
        raise scanner.error("'==' is not an operator; use '=' to test equality", op_pos)
    op = _OPERATORS[written.upper()]
    if op not in rule.operators:
        raise scanner.error(
            f"{identifier} cannot be compared with {op}; use one of {', '.join(rule.operators)}", op_pos
        )
    prefix = scanner.text[start : scanner.pos]
    scanner.skip_space()

    value_pos = scanner.pos
    value = _value(scanner, prefix, rule)
    raw = scanner.text[value_pos : scanner.pos]
    if rule.numeric and isinstance(value, str):
        raise scanner.error(f"{identifier} is compared with numbers but found the string {raw}", value_pos)
    if not rule.numeric and isinstance(value, float):
        raise scanner.error(
            f"{identifier} is compared with text but found the number {raw}; put it in quotes: '{raw}'", value_pos
        )
    if rule.choices and isinstance(value, str):
        value = value.lower()
        if value not in rule.choices:
            hint = _did_you_mean(value, rule.choices)
            raise scanner.error(
                f"{identifier} must be one of {', '.join(rule.choices)} but found {raw}{hint}", value_pos
            )
    return Comparison(entity=entity, key=key, op=op, value=value, column=start + 1)


def _identifier(scanner: _Scanner, *, attributes: Sequence[str]) -> tuple[Entity, str]:
    """Read ``entity.key``; attribute keys must be among ``attributes`` (after aliases and lower-casing)."""
    start = scanner.pos
    word = scanner.match(_WORD)
    if word is None or word.upper() in ("AND", "OR"):
        raise scanner.error(f"expected a name such as metrics.auc but found {scanner.found(start)}", start)
    entity = _ENTITIES.get(word.lower())
    if entity is None:
        raise scanner.error(
            f"unknown entity {word!r}{_did_you_mean(word.lower(), list(_ENTITIES))}; "
            "expected metrics, params, tags or attributes",
            start,
        )
    if scanner.match(_DOT) is None:
        raise scanner.error(f"expected '.' and a key after {word!r} (as in {entity}.x) but found {scanner.found()}")

    key_pos = scanner.pos
    quote = scanner.text[key_pos : key_pos + 1]
    key = _quoted(scanner, quote) if quote in ('"', "`") else scanner.match(_KEY)
    if key == "":
        raise scanner.error(f"the key after '{word}.' is empty", key_pos)
    if key is None:
        raise scanner.error(f"expected a key after '{word}.' but found {scanner.found(key_pos)}", key_pos)
    if entity != "attributes":
        return entity, key
    name = _ATTRIBUTE_ALIASES.get(key.lower(), key.lower())
    if name not in attributes:
        hint = _did_you_mean(key.lower(), [*attributes, *_ATTRIBUTE_ALIASES])
        raise scanner.error(f"unknown attribute {key!r}{hint}; expected one of {', '.join(attributes)}", key_pos)
    return entity, name


def _value(scanner: _Scanner, prefix: str, rule: _Rule) -> float | str:
    quote = scanner.text[scanner.pos : scanner.pos + 1]
    if quote in ("'", '"'):
        return _quoted(scanner, quote)
    number = scanner.match(_NUMBER)
    if number is not None:
        return float(number)
    message = f"expected a number or a quoted string after {prefix!r} but found {scanner.found()}"
    word = _WORD.match(scanner.text, scanner.pos)
    if word and not rule.numeric:
        message += f"; put text in quotes, as in '{word.group()}'"
    raise scanner.error(message)


def _quoted(scanner: _Scanner, quote: str) -> str:
    start = scanner.pos
    found = _QUOTED[quote].match(scanner.text, start)
    if found is None:
        raise scanner.error(f"unterminated string: the {quote} here is never closed", start)
    scanner.pos = found.end()
    return found.group(1).replace(quote * 2, quote)


def _order_by(item: str) -> OrderBy:
    scanner = _Scanner(item, "order_by item")
    scanner.skip_space()
    if scanner.at_end():
        raise InvalidInput(f"order_by items must name what to sort by, as in 'metrics.auc DESC'; got {item!r}.")
    entity, key = _identifier(scanner, attributes=_SORTABLE_ATTRIBUTES)
    scanner.skip_space()
    direction_pos = scanner.pos
    direction = (scanner.match(_WORD) or "").upper()
    if direction not in ("", "ASC", "DESC"):
        raise scanner.error(f"expected ASC or DESC but found {scanner.found(direction_pos)}", direction_pos)
    scanner.skip_space()
    if not scanner.at_end():
        expected = "the end of the order_by item" if direction else "ASC, DESC or the end of the order_by item"
        raise scanner.error(f"expected {expected} but found {scanner.found()}")
    return OrderBy(entity=entity, key=key, descending=direction == "DESC")


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    matches = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
