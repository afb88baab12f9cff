"""How a verdict shows itself: a one-line ``__repr__`` and, in a notebook, its report inline.

The notebook display is a short header (PASSED/FAILED, what was judged, binding or preview, notes) above
the very HTML report the gate stores (``report.render_html`` of the verdict), in an ``<iframe srcdoc>``:
the report is a complete page with its own stylesheet, and a frame keeps that stylesheet from restyling
the notebook, and the notebook's from restyling the report. Both work from ``Verdict.to_dict()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.core._html import Markup, badge, block, definition_list, esc, isolated_frame
from shipyard.gates.report import render_html

__all__ = ["verdict_html", "verdict_line"]


def _ref(entry: object) -> str:
    entry = entry if isinstance(entry, Mapping) else {}
    return f"{entry.get('name')}@{entry.get('version')}" if entry.get("name") is not None else "—"


def _counts(verdict: Mapping[str, Any]) -> str:
    checks = [c for c in verdict.get("checks") or () if isinstance(c, Mapping)]
    failed = sum(str(c.get("status")) in ("fail", "error") for c in checks)
    if failed:
        return f"{failed} of {len(checks)} checks failed"
    return f"{len(checks)} check{'' if len(checks) == 1 else 's'} passed"


def verdict_line(verdict: Mapping[str, Any]) -> str:
    """``<Verdict FAILED churn@7 on churn-eval@3 · 2 of 12 checks failed · binding · id 9f…>``"""
    word = "PASSED" if verdict.get("passed") else "FAILED"
    kind = "binding" if verdict.get("binding") else "preview"
    subject = " ".join(f"{_ref(verdict.get('model'))} on {_ref(verdict.get('data'))}".split())
    return f"<Verdict {word} {subject} · {_counts(verdict)} · {kind} · id {verdict.get('id')}>"


def verdict_html(verdict: Mapping[str, Any]) -> str:
    """The header, and the report in an isolated frame: ``render_html`` of the same dict, as the gate stored it."""
    passed = bool(verdict.get("passed"))
    subject = f"{_ref(verdict.get('model'))} on {_ref(verdict.get('data'))}"
    if verdict.get("binding"):
        kind: object = "binding: made under the policy in force, on the data it requires"
    else:
        kind = Markup(f"{badge('preview')} {esc(verdict.get('preview_reason') or 'not binding: it cannot promote')}")
    facts: list[tuple[object, object]] = [
        ("Outcome", Markup(f"{badge('passed' if passed else 'failed')} {esc(_counts(verdict))}")),
        ("Verdict", kind),
    ]
    facts += [("Note", note) for note in verdict.get("notes") or ()]
    checks = len(verdict.get("checks") or ())
    frame = isolated_frame(render_html(verdict), title=f"Gate report: {subject}", height=min(420 + 150 * checks, 1400))
    return block(f"Gate {'PASSED' if passed else 'FAILED'}: {subject}", definition_list(facts), frame)
