"""A metric history downsampled for a chart, in the database: at most ``max_points`` points of a long history.

The scheme is min/max per bucket (the "M4" idea without the redundant first/last per bucket): the step
range ``[first step, last step]`` is cut into ``(max_points - 2) // 2`` buckets of equal width in steps, and
from each bucket the point with the lowest and the point with the highest value are kept, plus the first
and the last point of the whole history. Why this and not LTTB:

- A line chart of N buckets (pixel columns) drawn from every point shows, per column, a vertical stroke
  from the lowest to the highest value; keeping exactly those two points per column draws the same
  picture, so spikes and dips (a loss blowing up for ten steps in ten million) survive, which is what a
  chart of a training curve is read for. LTTB keeps one point per bucket chosen by triangle area and can
  drop a one-bucket spike's opposite extreme.
- Min and max are plain SQL aggregates over an index range, so the work stays in the database and is the
  same on SQLite and PostgreSQL (LTTB depends on the previously chosen point: sequential, not SQL).

The points returned are real points (value, step and timestamp of one logged row), in step order. Ties:
the first in (step, timestamp) order wins. A NaN (stored as NULL) is never a bucket's extreme; a bucket of
only NaN points yields no point (a chart draws a gap there anyway), but a NaN first or last point is kept.

The statement: the bucket edges ``(low, high)`` are computed here in Python from the first and last step
(exact integers: a history may span the whole int64 range of steps) and sent as a ``VALUES`` table; per
bucket, correlated scalar subqueries take ``MIN(value)`` / ``MAX(value)`` over the index range
``run_id = ? AND key = ? AND step BETWEEN low AND high`` of ``ix_metrics_history`` (covering, so
index-only), then the first row in that range holding the value. No sort and no temporary table of the
history: memory is O(buckets), and each point is read about twice (once for the min, once for the max).
"""

from __future__ import annotations

import math

import sqlalchemy as sa

from shipyard.core.entities import Metric
from shipyard.core.errors import InvalidInput

MAX_POINTS_LIMIT = 10_000  # wider than any chart; keeps the VALUES table well under both drivers' bind limits

# Two subqueries, not MIN and MAX in one: SQLite seeks the index end only for a lone MIN or MAX.
_BOUNDS = sa.text(
    'SELECT (SELECT MIN(step) FROM metrics WHERE run_id = :run_id AND "key" = :key), '
    '(SELECT MAX(step) FROM metrics WHERE run_id = :run_id AND "key" = :key)'
)
_COUNT = sa.text(
    'SELECT COUNT(*) FROM (SELECT 1 FROM metrics WHERE run_id = :run_id AND "key" = :key LIMIT :enough) AS head'
)
_ENDS = (
    'SELECT value, step, "timestamp" FROM (SELECT value, step, "timestamp" FROM metrics '
    'WHERE run_id = :run_id AND "key" = :key ORDER BY step {order}, "timestamp" {order} LIMIT 1) AS {name}'
)


def check_max_points(max_points: object) -> int:
    """``max_points`` as given, or InvalidInput saying what is accepted."""
    if max_points.__class__ is not int or not 2 <= max_points <= MAX_POINTS_LIMIT:
        raise InvalidInput(
            f"The 'max_points' parameter of get_metric_history must be an int from 2 to {MAX_POINTS_LIMIT:,} "
            f"(the first and last point, and the lowest and highest per bucket). Got {max_points!r} instead. "
            "Pass max_points=None to read every point."
        )
    return max_points


def bucket_edges(first: int, last: int, buckets: int) -> list[tuple[int, int]]:
    """``buckets`` inclusive step ranges of (near) equal width over ``first..last``; fewer if the span is shorter."""
    span = last - first + 1
    count = min(buckets, span)
    return [(first + span * k // count, first + span * (k + 1) // count - 1) for k in range(count)]


def downsampled_sql(buckets: int) -> sa.TextClause:
    """The statement for ``buckets`` buckets: the first and last point, and each bucket's lowest and highest."""
    ends = f"{_ENDS.format(order='ASC', name='head')} UNION {_ENDS.format(order='DESC', name='tail')}"
    if not buckets:
        return sa.text(f'{ends} ORDER BY step, "timestamp"')
    rows = ", ".join(f"(CAST(:l{k} AS BIGINT), CAST(:h{k} AS BIGINT))" for k in range(buckets))
    # MATERIALIZED: each correlated subquery runs once per bucket, however often its result is referenced.
    sql = f"""
        WITH b (low, high) AS (VALUES {rows}),
        e AS MATERIALIZED (
            SELECT b.low, b.high,
                (SELECT MIN(m.value) FROM metrics m WHERE {_in_bucket("b")}) AS lowest,
                (SELECT MAX(m.value) FROM metrics m WHERE {_in_bucket("b")}) AS highest
            FROM b
        ),
        p AS MATERIALIZED (
            SELECT e.lowest, e.highest, {_first_step("lowest")} AS lowest_step, {_first_step("highest")} AS highest_step
            FROM e WHERE e.lowest IS NOT NULL
        )
        SELECT p.lowest AS value, p.lowest_step AS step, {_first_stamp("lowest")} AS "timestamp" FROM p
        UNION SELECT p.highest, p.highest_step, {_first_stamp("highest")} FROM p
        UNION {ends}
        ORDER BY step, "timestamp"
    """
    return sa.text(sql)


def _in_bucket(alias: str) -> str:
    return f'm.run_id = :run_id AND m."key" = :key AND m.step BETWEEN {alias}.low AND {alias}.high'


def _first_step(extreme: str) -> str:
    """The step of the bucket's first row (step, then timestamp order) holding its ``extreme`` value."""
    return (
        f"(SELECT m.step FROM metrics m WHERE {_in_bucket('e')} AND m.value = e.{extreme} "
        'ORDER BY m.step, m."timestamp" LIMIT 1)'
    )


def _first_stamp(extreme: str) -> str:
    """That row's timestamp: the earliest at that step with that value."""
    return (
        '(SELECT MIN(m."timestamp") FROM metrics m WHERE m.run_id = :run_id AND m."key" = :key '
        f"AND m.step = p.{extreme}_step AND m.value = p.{extreme})"
    )


def read_downsampled(conn: sa.Connection, run_id: str, key: str, max_points: int) -> list[Metric] | None:
    """At most ``max_points`` points of the history, or None when it has no more than that (read it whole)."""
    if conn.execute(_COUNT, {"run_id": run_id, "key": key, "enough": max_points + 1}).scalar_one() <= max_points:
        return None
    first, last = conn.execute(_BOUNDS, {"run_id": run_id, "key": key}).one()
    if first is None:  # the run was purged between the two statements
        return []
    edges = bucket_edges(first, last, (max_points - 2) // 2)
    binds: dict[str, object] = {"run_id": run_id, "key": key}
    for k, (low, high) in enumerate(edges):
        binds[f"l{k}"], binds[f"h{k}"] = low, high
    rows = conn.execute(downsampled_sql(len(edges)), binds).all()
    return [Metric(key, math.nan if value is None else value, step, stamp) for value, step, stamp in rows]
