"""Run a policy on one model version and one eval dataset version, and record the verdict.

Fails closed: a check that cannot run is an ``error`` and blocks; a policy with no blocking check (none,
or only ``warn`` ones) does not pass; a model that cannot be loaded or that refuses the eval data fails
every check that needs it.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from shipyard.core._progress import progress
from shipyard.core.actor import current_actor
from shipyard.core.entities import DatasetVersion, ModelVersion
from shipyard.core.errors import ShipyardError
from shipyard.gates.check import Check, CheckFailedToRun, CheckResult, Status
from shipyard.gates.context import GateContext
from shipyard.gates.policy import Policy
from shipyard.gates.verdict import Verdict

if TYPE_CHECKING:
    from shipyard.tracking.client import Client


PREVIEW_UNSTORED = "computed in this process and not stored (a local preview); only a stored verdict can promote"


def run_checks(ctx: GateContext, checks: list[Check]) -> list[CheckResult]:
    results: list[CheckResult] = []
    with progress(f"gate {ctx.version.ref}", total=len(checks), unit="checks") as tick:  # in a notebook only
        for check in checks:
            tick(len(results), note=check.name)
            results.append(_run_one(ctx, check))
    return results


def _run_one(ctx: GateContext, check: Check) -> CheckResult:
    started = time.perf_counter()
    try:
        outcome = check.run(ctx)
    except (CheckFailedToRun, ShipyardError) as exc:
        status = Status.WARN if check.severity == "warn" else Status.ERROR
        return _result(check, status, f"could not run: {exc}", started)
    except Exception as exc:  # a bug in a check (maybe a user's plug-in) must not pass, nor crash the gate
        status = Status.WARN if check.severity == "warn" else Status.ERROR
        return _result(check, status, f"could not run: {type(exc).__name__}: {exc}", started)
    failed = Status.WARN if check.severity == "warn" else Status.FAIL
    status = Status.PASS if outcome.passed else failed
    return CheckResult(
        name=check.name,
        kind=check.kind,
        severity=check.severity,
        status=status,
        measured=outcome.measured,
        threshold=outcome.threshold,
        message=outcome.message,
        evidence=outcome.evidence,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def _result(check: Check, status: Status, message: str, started: float) -> CheckResult:
    return CheckResult(
        name=check.name,
        kind=check.kind,
        severity=check.severity,
        status=status,
        message=message,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def evaluate(
    client: Client,
    version: ModelVersion,
    dataset: DatasetVersion,
    policy: Policy,
    *,
    family_size: int = 1,
    notes: Sequence[str] = (),
    store: bool = True,
) -> Verdict:
    """Run every check of ``policy``, store the verdict and its HTML report, and return the verdict.

    ``family_size`` is how many challengers are judged together against the champion; the comparison
    checks correct their confidence and significance for it. ``store=False`` stores nothing: the verdict is
    a preview (``PREVIEW_UNSTORED``) that can never promote, as a ``--local`` run against a server is.
    """
    from shipyard.core.version import __version__

    ctx = GateContext(client, version, dataset, policy, family_size=family_size)
    _check_metrics_fit_the_task(ctx, policy)
    results = run_checks(ctx, policy.build())
    passed = any(r.severity == "error" for r in results) and not any(r.blocks for r in results)
    champion = ctx.champion if any(c.kind in ("no_regression", "mcnemar") for c in policy.checks) else None
    verdict = Verdict(
        id=uuid.uuid4().hex,
        passed=passed,
        model={
            "name": version.name,
            "version": version.version,
            "digest": version.artifact_digest,
            "flavor": version.flavor,
            "run_id": version.run_id,
            "project": version.project,
        },
        data={"name": dataset.name, "version": dataset.version, "digest": dataset.digest, "rows": dataset.rows},
        policy={"digest": policy.digest, "source": policy.source},
        shipyard_version=__version__,
        created_at=int(time.time() * 1000),
        checks=results,
        champion=None if champion is None else {"name": champion.name, "version": champion.version},
        extra={"family_size": family_size}
        if policy.blocking
        else {"note": 'the policy has no blocking check (none, or only severity = "warn"), so the gate fails'},
        notes=tuple(notes),
    )
    if not store:
        return dataclasses.replace(verdict, binding=False, preview_reason=PREVIEW_UNSTORED)
    expected, why = client.backend.verdicts.binding_of(version.project, policy.digest, dataset.id)
    verdict = dataclasses.replace(verdict, binding=expected, preview_reason=why or None)
    report = _report(verdict)
    report_digest = client.backend.blobs.put_bytes(report.encode())[0] if report is not None else None
    verdict = dataclasses.replace(verdict, report_digest=report_digest)
    binding, why = client.backend.verdicts.add(
        verdict.id,
        model_version_id=version.id,
        policy_digest=policy.digest,
        dataset_version_id=dataset.id,
        shipyard_version=__version__,
        passed=passed,
        result=verdict.to_dict(),
        report_digest=report_digest,
        actor=current_actor(),
    )
    return dataclasses.replace(verdict, binding=binding, preview_reason=why or None)


def _check_metrics_fit_the_task(ctx: GateContext, policy: Policy) -> None:
    """A metric that cannot apply to this task is a mistake in the policy (exit 2), not a failing model.

    When the policy declares ``task`` this was checked on load; otherwise the task is known only now.
    """
    from shipyard.core.errors import InvalidInput
    from shipyard.gates.metrics import check_metric

    try:
        task = ctx.task
    except CheckFailedToRun:
        return  # the label cannot be found: every check that needs it reports that itself
    for index, spec in enumerate(policy.checks, start=1):
        metric = spec.values.get("metric")
        if isinstance(metric, str):
            try:
                check_metric(metric, task)
            except InvalidInput as exc:
                raise InvalidInput(
                    f"{policy.source}: [[gate.checks]] #{index} (kind = {spec.kind!r}): {exc} The eval data's label "
                    f"{ctx.label!r} makes this a {task} task; set [gate] task if that is wrong."
                ) from None


def _report(verdict: Verdict) -> str | None:
    try:
        from shipyard.gates.report import render_html
    except ImportError:  # the report module is optional while it is being built; the verdict stands alone
        return None
    return render_html(verdict.to_dict())
