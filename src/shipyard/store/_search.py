"""Translate a parsed filter and order-by into one SQL query over runs.

Metric conditions join ``latest_metrics`` (one row per run and key, indexed by key and value), so a
filter such as ``metrics.auc > 0.9`` is an index range scan, never a pass over metric history.
"""

from __future__ import annotations

import base64
import json
import operator
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from shipyard.core.errors import InvalidInput
from shipyard.core.filters import Comparison, OrderBy
from shipyard.store.schema import latest_metrics, params, runs, tags

MAX_RESULTS_LIMIT = 50_000

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "LIKE": lambda column, value: column.like(value),
    "ILIKE": lambda column, value: column.ilike(value),
}
_ENTITY_TABLES = {"metrics": latest_metrics, "params": params, "tags": tags}
_ATTRIBUTE_COLUMNS = {
    "name": runs.c.name,
    "run_id": runs.c.id,
    "parent_id": runs.c.parent_id,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "status": runs.c.status,
}


Joined = dict[tuple[str, str], Any]  # (entity, key) → the aliased value table joined for it


def apply_filter(
    query: sa.Select[Any], comparisons: Sequence[Comparison], crashed_before: int, dead: Sequence[str] = ()
) -> tuple[sa.Select[Any], Joined]:
    """Add the filter's conditions; also return the value tables it inner-joined, by (entity, key).

    A status comparison reads a run marked running as crashed if its heartbeat is older than
    ``crashed_before`` (ms) or its id is among ``dead`` (its process on this host is gone).
    """
    joined: Joined = {}
    for index, comparison in enumerate(comparisons):
        compare = _OPS[comparison.op]
        if comparison.entity == "attributes":
            if comparison.key == "status":
                query = query.where(_status_condition(comparison, crashed_before, dead))
            else:
                query = query.where(compare(_ATTRIBUTE_COLUMNS[comparison.key], comparison.value))
            continue
        table = joined.get((comparison.entity, comparison.key))
        if table is None:
            table = _ENTITY_TABLES[comparison.entity].alias(f"f{index}")
            joined[(comparison.entity, comparison.key)] = table
            query = query.join(table, sa.and_(table.c.run_id == runs.c.id, table.c.key == comparison.key))
        query = query.where(compare(table.c.value, comparison.value))
    return query, joined


def _status_condition(comparison: Comparison, crashed_before: int, dead: Sequence[str]) -> sa.ColumnElement[bool]:
    # A run still marked running whose heartbeat is stale, or whose process is known dead, is crashed:
    # the filter must agree with what is shown.
    silent = runs.c.heartbeat_at < crashed_before
    if dead:
        silent = sa.or_(silent, runs.c.id.in_(list(dead)))
    if comparison.value == "crashed":
        matches: sa.ColumnElement[bool] = sa.or_(
            runs.c.status == "crashed", sa.and_(runs.c.status == "running", silent)
        )
    elif comparison.value == "running":
        matches = sa.and_(runs.c.status == "running", sa.not_(silent))
    else:
        matches = runs.c.status == comparison.value
    return matches if comparison.op == "=" else sa.not_(matches)


def apply_order(query: sa.Select[Any], order_by: Sequence[OrderBy], joined: Joined, dialect: str) -> sa.Select[Any]:
    """Sort by ``order_by``, then newest first. Runs without the value sort last in either direction."""
    clauses: list[Any] = []
    for index, item in enumerate(order_by):
        column: Any
        may_be_null = True
        if item.entity == "attributes":
            column = _ATTRIBUTE_COLUMNS[item.key]
            may_be_null = item.key in ("end_time", "parent_id")
        elif (item.entity, item.key) in joined:
            # The filter already joined this value and compared it, so it is never NULL: sort on the same
            # join, which saves one and lets the database read the (key, value) index in order.
            column, may_be_null = joined[(item.entity, item.key)].c.value, False
        else:
            table = _ENTITY_TABLES[item.entity].alias(f"o{index}")
            query = query.outerjoin(table, sa.and_(table.c.run_id == runs.c.id, table.c.key == item.key))
            column = table.c.value
        ordered = column.desc() if item.descending else column.asc()
        # SQLite puts NULLs first when ascending, PostgreSQL when descending; say so only where it differs.
        if may_be_null and item.descending == (dialect != "sqlite"):
            ordered = ordered.nulls_last()
        clauses.append(ordered)
    clauses += [runs.c.start_time.desc(), runs.c.id.desc()]
    return query.order_by(*clauses)


def check_max_results(max_results: int) -> int:
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS_LIMIT:
        raise InvalidInput(f"max_results must be an integer from 1 to {MAX_RESULTS_LIMIT}; got {max_results!r}.")
    return max_results


PageStart = tuple[int, tuple[int, str] | None]  # (offset, or the (start_time, id) of the previous page's last run)


def encode_page_token(offset: int = 0, *, after: tuple[int, str] | None = None) -> str:
    """A token for the next page: where the previous page ended (default order), else how many runs it skipped."""
    body: dict[str, Any] = {"offset": offset} if after is None else {"after": [after[0], after[1]]}
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


def decode_page_token(token: str | None) -> PageStart:
    if not token:
        return 0, None
    try:
        body = json.loads(base64.urlsafe_b64decode(token.encode()))
        if "after" in body:
            start, run_id = body["after"]
            if isinstance(start, int) and isinstance(run_id, str):
                return 0, (start, run_id)
        else:
            offset = body["offset"]
            if isinstance(offset, int) and offset >= 0:
                return offset, None
    except (ValueError, KeyError, TypeError):
        pass
    raise InvalidInput(
        f"The page token {token!r} is not one Shipyard issued; pass the next_page_token of a previous page."
    )


def after_run(start_time: int, run_id: str) -> sa.ColumnElement[bool]:
    """Runs after ``(start_time, run_id)`` in the default order (newest first): a keyset page.

    A page deep in the list then costs what the first one does; an offset reads and throws away every run
    before it, so its cost grows with the depth (``bench/growth.py``). Spelled so that both databases read
    it as a range of the (project, start time) index, which a row-value comparison is not on PostgreSQL.
    """
    return sa.and_(
        runs.c.start_time <= start_time,
        sa.or_(runs.c.start_time < start_time, runs.c.id < run_id),
    )
