"""The audit log: who changed an alias, applied a policy, overrode the gate, deleted something; when; details.

Events are written inside the transaction of the change they describe, so the log and the state can
never disagree. The log is a hash chain, one per store: every event carries a gap-free ``seq``, the hash
of the event before it and its own hash (sha256 over both), and the one-row ``audit_chain`` table holds
the newest link. Writers take that row's lock, so events are chained in commit order on PostgreSQL too.

``verify`` recomputes the chain and replays it against the state it describes: aliases, verdicts and
policies. An edit made straight into the database (an event changed or deleted, an alias moved, a verdict
flipped, a policy rewritten) shows, unless whoever made it also rewrote every later hash and the head;
``head()`` gives the newest hash so that it can be kept elsewhere and compared later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shipyard.core.entities import AuditEvent
from shipyard.core.entities_gate import Problem, Verification
from shipyard.core.errors import StoreError
from shipyard.store._base import now_ms
from shipyard.store.schema import (
    audit_chain,
    audit_events,
    gate_policies,
    model_aliases,
    model_versions,
    projects,
    registered_models,
    verdicts,
)

GENESIS = "sha256:" + hashlib.sha256(b"shipyard audit chain").hexdigest()


def event_hash(
    previous: str, seq: int, at: int, actor: str, action: str, project_id: int | None, subject: str, details: str
) -> str:
    """The hash of one event: over the previous event's hash and every stored field of this one."""
    content = json.dumps([previous, seq, at, actor, action, project_id, subject, details], separators=(",", ":"))
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


def record(
    conn: sa.Connection, actor: str, action: str, project_id: int | None, subject: str, details: Mapping[str, Any]
) -> int:
    """Append an event to the chain inside the caller's transaction; returns its ``seq``."""
    head = sa.select(audit_chain.c.seq, audit_chain.c.hash).where(audit_chain.c.id == 1)
    if conn.dialect.name == "postgresql":
        head = head.with_for_update()  # one writer extends the chain at a time; SQLite's write lock already does
    found = conn.execute(head).first()
    if found is None:
        if conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar():
            raise StoreError(
                "The audit log's chain head is missing, so no event can be added after it. The database was "
                "edited outside Shipyard; run `shipyard audit verify` and restore shipyard.db from a backup."
            )
        conn.execute(audit_chain.insert().values(id=1, seq=0, hash=GENESIS))
        previous, seq = GENESIS, 1
    else:
        previous, seq = found.hash, found.seq + 1
    at, text = now_ms(), json.dumps(details, sort_keys=True, default=str)
    digest = event_hash(previous, seq, at, actor, action, project_id, subject, text)
    conn.execute(
        audit_events.insert().values(
            at=at,
            actor=actor,
            action=action,
            project_id=project_id,
            subject=subject,
            details=text,
            seq=seq,
            prev_hash=previous,
            hash=digest,
        )
    )
    conn.execute(audit_chain.update().where(audit_chain.c.id == 1).values(seq=seq, hash=digest))
    return seq


def read(conn: sa.Connection, project: str | None, subject: str | None, limit: int) -> list[AuditEvent]:
    """Newest first; ``subject`` matches itself and its versions (``model:churn`` and ``model:churn@3``)."""
    query = sa.select(audit_events, projects.c.name.label("project")).outerjoin(
        projects, projects.c.id == audit_events.c.project_id
    )
    if project is not None:
        query = query.where(projects.c.name == project)
    if subject is not None:
        query = query.where(sa.or_(audit_events.c.subject == subject, audit_events.c.subject.startswith(subject + "@")))
    rows = conn.execute(query.order_by(audit_events.c.id.desc()).limit(limit)).all()
    return [
        AuditEvent(
            id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            project=r.project,
            subject=r.subject,
            details=json.loads(r.details),
            seq=r.seq,
            hash=r.hash,
        )
        for r in rows
    ]


# verification -----------------------------------------------------------------------------------------


def head(conn: sa.Connection) -> tuple[int, str]:
    found = conn.execute(sa.select(audit_chain.c.seq, audit_chain.c.hash).where(audit_chain.c.id == 1)).first()
    return (0, GENESIS) if found is None else (int(found.seq), str(found.hash))


def verify(conn: sa.Connection, expect_head: str | None = None) -> Verification:
    """Check the chain, then replay it against aliases, verdicts and policies.

    ``expect_head`` is a head hash recorded earlier (``head()``): it must still be in the chain, or the log was
    rewritten since.
    """
    problems: list[Problem] = []
    rows = conn.execute(sa.select(audit_events).order_by(audit_events.c.seq.is_(None), audit_events.c.seq)).all()
    if expect_head is not None and all(r.hash != expect_head for r in rows):
        problems.append(
            Problem("head", f"the head recorded earlier ({expect_head}) is not in the log: the log was rewritten")
        )
    chained = [r for r in rows if r.seq is not None]
    for row in rows:
        if row.seq is None:
            problems.append(
                Problem(
                    "unchained",
                    f"event id {row.id} ({row.action} {row.subject}) is not in the chain: "
                    "it was inserted outside Shipyard",
                )
            )
    previous, expected_seq = GENESIS, 1
    for row in chained:
        if row.seq != expected_seq:
            gap = f"seq {expected_seq}" if row.seq == expected_seq + 1 else f"seq {expected_seq}–{row.seq - 1}"
            problems.append(Problem("missing", f"the event(s) at {gap} are missing: deleted from the database"))
        elif row.prev_hash != previous:
            problems.append(Problem("changed", f"event seq {row.seq} does not link to the event before it"))
        recomputed = event_hash(
            row.prev_hash or "", row.seq, row.at, row.actor, row.action, row.project_id, row.subject, row.details
        )
        if recomputed != row.hash:
            problems.append(
                Problem("changed", f"event seq {row.seq} ({row.action} {row.subject}) was changed after it was written")
            )
        previous, expected_seq = row.hash, row.seq + 1
    head_seq, head_hash = head(conn)
    last_seq = chained[-1].seq if chained else 0
    if conn.execute(sa.select(audit_chain.c.id)).first() is None and chained:
        problems.append(Problem("head", "the chain's head record is missing"))
    elif head_seq != last_seq or (chained and head_hash != chained[-1].hash):
        if head_seq > last_seq:
            problems.append(
                Problem("missing", f"the newest event(s) after seq {last_seq} (up to seq {head_seq}) are missing")
            )
        else:
            problems.append(Problem("head", f"the chain's head (seq {head_seq}) does not match its newest event"))
    events = [(r.action, r.project_id, r.subject, json.loads(r.details), r.seq) for r in chained]
    problems += _check_aliases(conn, events)
    problems += _check_verdicts(conn, events)
    problems += _check_policies(conn, events)
    return Verification(len(rows), head_seq, head_hash, tuple(problems))


Event = tuple[str, int | None, str, dict[str, Any], int]


def _check_aliases(conn: sa.Connection, events: list[Event]) -> list[Problem]:
    expected: dict[tuple[int | None, str, str], int | None] = {}
    for action, project_id, subject, details, _seq in events:
        if action in ("alias.set", "alias.delete") and subject.startswith("model:"):
            expected[(project_id, subject[len("model:") :], details.get("alias", ""))] = details.get("new_version")
    actual_rows = conn.execute(
        sa.select(
            registered_models.c.project_id,
            registered_models.c.name,
            model_aliases.c.alias,
            model_versions.c.version,
            model_versions.c.id,
            model_aliases.c.authorized_by,
        )
        .join(registered_models, registered_models.c.id == model_aliases.c.model_id)
        .join(model_versions, model_versions.c.id == model_aliases.c.model_version_id)
    ).all()
    actual = {(r.project_id, r.name, r.alias): r.version for r in actual_rows}
    problems = []
    for key in sorted(set(expected) | set(actual), key=str):
        logged, stored = expected.get(key), actual.get(key)
        if logged != stored:
            _, name, alias = key
            problems.append(
                Problem(
                    "alias",
                    f"alias {alias!r} of model {name!r} points at {_version(stored)} but the audit log says "
                    f"{_version(logged)}: it was changed outside Shipyard",
                )
            )
    seqs = {seq: (action, subject) for action, _p, subject, _d, seq in events}
    for row in actual_rows:
        problems += _check_authority(conn, row, seqs)
    return problems


def _check_authority(conn: sa.Connection, row: Any, seqs: Mapping[int, tuple[str, str]]) -> list[Problem]:
    what = f"alias {row.alias!r} of model {row.name!r} (version {row.version})"
    authority = row.authorized_by or ""
    kind, _, ref = authority.partition(":")
    if kind == "verdict":
        verdict = conn.execute(
            sa.select(verdicts.c.passed, verdicts.c.binding, verdicts.c.model_version_id).where(verdicts.c.id == ref)
        ).first()
        if verdict is None or not verdict.passed or not verdict.binding or verdict.model_version_id != row.id:
            return [Problem("alias", f"{what} names verdict {ref} as its authority, which does not allow it")]
    elif kind == "override":
        event = seqs.get(int(ref)) if ref.isdigit() else None
        if event is None or event[0] != "gate.override" or event[1] != f"model:{row.name}@{row.version}":
            return [Problem("alias", f"{what} names override {ref} as its authority, which the log does not hold")]
    return []


def _check_verdicts(conn: sa.Connection, events: list[Event]) -> list[Problem]:
    logged = {d.get("verdict_id"): d for action, _p, _s, d, _q in events if action == "gate.verdict"}
    problems = []
    rows = conn.execute(sa.select(verdicts.c.id, verdicts.c.passed, verdicts.c.binding)).all()
    for row in rows:
        event = logged.get(row.id)
        if event is None:
            problems.append(Problem("verdict", f"verdict {row.id} is not in the audit log: it was inserted outside"))
        elif bool(event.get("passed")) != bool(row.passed) or bool(event.get("binding")) != bool(row.binding):
            problems.append(Problem("verdict", f"verdict {row.id} was changed after it was written"))
    return problems


def _check_policies(conn: sa.Connection, events: list[Event]) -> list[Problem]:
    from shipyard.core.config import table_digest

    logged = {
        (p, d.get("version")): d.get("digest") for action, p, _s, d, _q in events if action == "gate.policy.apply"
    }
    problems = []
    rows = conn.execute(
        sa.select(gate_policies.c.project_id, gate_policies.c.version, gate_policies.c.digest, gate_policies.c.body)
    ).all()
    for row in rows:
        digest = table_digest(json.loads(row.body))
        if logged.get((row.project_id, row.version)) != digest or row.digest != digest:
            problems.append(
                Problem("policy", f"gate policy version {row.version} differs from what the audit log recorded")
            )
    return problems


def _version(number: int | None) -> str:
    return "nothing" if number is None else f"version {number}"
