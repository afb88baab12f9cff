"""``Models``: register, alias, load and retire model versions (``client.models`` / ``sy.models``).

A version's package (the flavor's files plus a manifest naming each file's digest) lives in the
artifact store; the version row points at the manifest's digest, so loading verifies every byte.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import math
import numbers
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core import validation as v
from shipyard.core.actor import current_actor
from shipyard.core.config import CONFIG_FILE, Settings
from shipyard.core.entities import CANARY_OUTCOMES, AuditEvent, Canary, DatasetVersion, ModelVersion, RegisteredModel
from shipyard.core.errors import Conflict, InvalidInput, PermissionDenied
from shipyard.core.refs import check_alias, check_version, parse_ref
from shipyard.registry.packages import load_package, store_package
from shipyard.registry.policy import local_gate_table

if TYPE_CHECKING:
    from shipyard.backends.protocol import Backend
    from shipyard.core.entities import Verification
    from shipyard.data.service import Datasets
    from shipyard.packaging.package import LoadedModel

_SAMPLE_ROWS = 1000
MAX_CANARY_SHARE = 0.5
"""A canary is a minority of traffic: above half, promote the version instead."""


class Models:
    """The model registry of one store.

    >>> mv = client.models.log(model, "churn", train_data=train)   # the next version, signature inferred
    >>> client.models.set_alias("churn", mv.version, "champion")   # GateBlocked without a passing verdict
    >>> client.models.load("churn@champion").predict(rows)         # every file's digest verified
    """

    def __init__(self, backend: Backend, settings: Settings, datasets: Datasets) -> None:
        self._backend = backend
        self._settings = settings
        self._datasets = datasets
        self._policy_in_force: set[str] = set()  # projects known to have one (a policy in force is never removed)

    # registering ------------------------------------------------------------------------------------

    def log(
        self,
        model: Any,
        name: str,
        *,
        project: str | None = None,
        run_id: str | None = None,
        flavor: str | None = None,
        train_data: Any = None,
        input_example: Any = None,
        datasets: Mapping[str, DatasetVersion | str] | None = None,
        parents: Sequence[str | ModelVersion] = (),
        tags: Mapping[str, Any] | None = None,
        description: str = "",
    ) -> ModelVersion:
        """Package ``model`` with its flavor and register it as the next version of ``name``.

        ``train_data`` (a dataset version, a reference to one, or a table) gives the signature; a dataset
        version is also recorded as the version's ``train`` data. ``datasets`` adds other roles.
        """
        project = self._project(project)
        name = _check_model_name(name)
        linked = dict(datasets or {})
        table = train_data
        if isinstance(train_data, DatasetVersion | str):  # a str is a dataset reference; pass files as Path
            linked.setdefault("train", train_data)
            table = self.sample_rows(self._datasets.get(train_data, project=project))
        links = [(self._datasets.get(ref, project=project).id, _check_role(role)) for role, ref in linked.items()]
        parent_ids = [self.get(p if isinstance(p, str) else p.ref, project=project).id for p in parents]
        checked_tags = v.check_tags(tags)
        stored = store_package(self._backend.blobs, model, flavor=flavor, input_example=input_example, train_data=table)
        return self._backend.registry.create_version(
            project,
            name,
            flavor=stored.info.flavor,
            artifact_digest=stored.digest,
            package=stored.info.to_dict(),
            unsafe_format=stored.info.unsafe_format,
            files=stored.files,
            run_id=run_id,
            datasets_=links,
            parents=parent_ids,
            tags=checked_tags,
            description=description,
            actor=current_actor(),
        )

    def sample_rows(self, version: DatasetVersion) -> Any:
        """The first rows of a dataset version (a pyarrow Table): enough to infer a signature without loading it all."""
        import pyarrow.parquet as pq

        with tempfile.TemporaryDirectory(prefix="shipyard-dataset-") as folder:
            path = Path(folder) / "data.parquet"
            self._backend.blobs.download(version.blob_digest, path)
            batches = pq.ParquetFile(path).iter_batches(batch_size=_SAMPLE_ROWS)
            import pyarrow as pa

            return pa.Table.from_batches([next(batches)])

    # reading ----------------------------------------------------------------------------------------

    def get(self, ref: str, *, project: str | None = None) -> ModelVersion:
        """``"churn"`` (newest active), ``"churn@3"``, ``"churn@champion"``."""
        return self._backend.registry.get_version(self._project(project), parse_ref(ref))

    def list(self, project: str | None = None) -> builtins.list[RegisteredModel]:
        """The registered models of ``project`` (all projects when ``project="*"``), with their aliases."""
        return self._backend.registry.list_models(None if project == "*" else self._project(project))

    def versions(self, name: str, *, project: str | None = None) -> builtins.list[ModelVersion]:
        """Every version of one model, newest first, archived ones included."""
        return self._backend.registry.list_versions(self._project(project), _check_model_name(name))

    def load(self, ref: str | ModelVersion, *, trust_unsafe: bool = False, project: str | None = None) -> LoadedModel:
        """The version's model, ready to ``predict``; every file's digest is verified first.

        Pickle-based versions (``unsafe_format``) load only with ``trust_unsafe=True``: unpickling runs code.
        """
        version = ref if isinstance(ref, ModelVersion) else self.get(ref, project=project)
        return load_package(self._backend.blobs, version.artifact_digest, trust_unsafe=trust_unsafe, what=version.ref)

    # aliases and lifecycle --------------------------------------------------------------------------

    def set_alias(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        project: str | None = None,
        override_reason: str | None = None,
    ) -> ModelVersion:
        """Point ``alias`` at ``version`` (atomically; the move is audited).

        A protected alias of the gate policy in force (``protected_aliases``, default ``champion``) needs a
        passing verdict for this exact version under that policy, on the evaluation data it requires, else
        ``GateBlocked``. The store decides from its own state; nothing the caller passes changes what is
        protected. An admin (``SHIPYARD_ALLOW_OVERRIDE=1`` in the environment) may pass ``override_reason``:
        audited and marked on the version.
        """
        project = self._project(project)
        self.ensure_policy(project)
        return self._backend.registry.set_alias(
            project,
            _check_model_name(name),
            check_version(version),
            check_alias(alias),
            actor=current_actor(),
            override_reason=override_reason,
        )

    def promote(
        self, ref: str, alias: str = "champion", *, project: str | None = None, override_reason: str | None = None
    ) -> ModelVersion:
        """``promote("churn@7")``: give a version an alias, champion by default (see ``set_alias``)."""
        version = self.get(ref, project=project)
        return self.set_alias(
            version.name, version.version, alias, project=version.project, override_reason=override_reason
        )

    def rollback(self, name: str, *, project: str | None = None, override_reason: str | None = None) -> tuple[int, int]:
        """Swap ``champion`` and ``previous-champion``: (version left, version restored). Audited.

        The restored version needs a passing verdict under the policy in force today (or an admin's
        ``override_reason``): having been champion once is not enough.
        """
        return self._backend.registry.rollback(
            self._project(project), _check_model_name(name), actor=current_actor(), override_reason=override_reason
        )

    def ensure_policy(self, project: str) -> None:
        """Apply the project's first gate policy from ``shipyard.toml`` when none is in force yet (audited as
        implicit). Once a policy is in force, a differing file changes nothing until it is applied on purpose."""
        if project in self._policy_in_force:
            return
        if self._backend.policies.in_force(project) is not None:
            self._policy_in_force.add(project)
            return
        table = local_gate_table(self._settings.root)
        if table is None:
            return  # nothing written down: champion stays protected and nothing can pass
        # Conflict: another process applied the first one meanwhile. PermissionDenied: a server lets only a
        # maintainer apply a policy, even the first; the server decides the move under no policy in force.
        with contextlib.suppress(Conflict, PermissionDenied):
            self._backend.policies.apply(
                project, table, source=str(self._settings.root / CONFIG_FILE), implicit=True, actor=current_actor()
            )

    def delete_alias(self, name: str, alias: str, *, project: str | None = None) -> int:
        """Remove ``alias`` from ``name``; returns the version it pointed at. Audited."""
        return self._backend.registry.delete_alias(
            self._project(project), _check_model_name(name), check_alias(alias), actor=current_actor()
        )

    def archive(self, name: str, version: int, *, project: str | None = None) -> ModelVersion:
        """Retire a version: kept, but no longer the newest of ``name``; refused while it holds an alias.

        ``restore`` undoes it. Audited.
        """
        return self._backend.registry.set_status(
            self._project(project), name, check_version(version), "archived", actor=current_actor()
        )

    def restore(self, name: str, version: int, *, project: str | None = None) -> ModelVersion:
        """Make an archived version active again. Audited."""
        return self._backend.registry.set_status(
            self._project(project), name, check_version(version), "active", actor=current_actor()
        )

    def delete_version(self, name: str, version: int, *, project: str | None = None) -> None:
        """Delete a version for good (its number is never reused); refused while it holds an alias."""
        self._backend.registry.delete_version(
            self._project(project), name, check_version(version), actor=current_actor()
        )

    def set_tags(self, name: str, version: int, tags: Mapping[str, Any], *, project: str | None = None) -> None:
        """Set tags on one version: ``set_tags("churn", 3, {"reviewed_by": "ana"})``."""
        checked = v.check_tags(tags)
        self._backend.registry.set_version_tags(self._project(project), name, check_version(version), checked)

    def set_description(
        self, name: str, description: str, *, version: int | None = None, project: str | None = None
    ) -> None:
        """Describe the model, or with ``version`` one of its versions."""
        self._backend.registry.set_description(
            self._project(project), name, str(description), None if version is None else check_version(version)
        )

    def audit_log(
        self, name: str | None = None, *, project: str | None = None, limit: int = 100
    ) -> builtins.list[AuditEvent]:
        """Audit events, newest first: alias moves, deletions, archives, registrations."""
        subject = f"model:{_check_model_name(name)}" if name else None
        return self._backend.registry.audit_events(self._project(project), subject=subject, limit=limit)

    def verify_audit(self, *, expect_head: str | None = None) -> Verification:
        """Check the store's tamper-evident audit log (``shipyard audit verify``).

        Recomputes the hash chain (an event changed, deleted or inserted outside Shipyard shows), then
        replays it against the state it describes: every alias must be where the log put it, with the
        verdict or override that allowed it; every verdict and policy as the log recorded it. ``expect_head``, a
        hash from ``audit_head()`` kept elsewhere, must still be in the log.
        """
        return self._backend.registry.verify_audit(expect_head)

    def audit_head(self) -> tuple[int, str]:
        """The newest audit event's ``seq`` and hash: record it elsewhere (CI, a ticket) to compare later."""
        return self._backend.registry.audit_head()

    # canaries ---------------------------------------------------------------------------------------

    def start_canary(
        self,
        name: str,
        version: int,
        share: float,
        *,
        reason: str = "",
        project: str | None = None,
        override_reason: str | None = None,
    ) -> Canary:
        """Send ``share`` (0 < share ≤ 0.5) of ``name``'s live traffic to ``version``, on every running server.

        Servers of ``name`` started without ``--canary`` or ``--shadow`` load the version at their next
        poll, with no restart, and drop it when the canary ends. Refused for a version that does not exist
        (``NotFound``), a share out of range (``InvalidInput``), an archived version, the champion, or
        while another canary of the model runs (``Conflict``). A canary takes live traffic, so the version needs
        a passing verdict under the policy in force, as for a protected alias (``GateBlocked``), unless an admin
        gives ``override_reason``. Audited.

        >>> client.models.start_canary("churn", 8, 0.1, reason="retrained on June data")  # doctest: +SKIP
        """
        project = self._project(project)
        name = _check_model_name(name)
        number = check_version(version)
        checked = _check_share(share)
        self.get(f"{name}@{number}", project=project)  # the registry's NotFound lists the versions there are
        self.ensure_policy(project)
        return self._backend.canaries.start(
            project,
            name,
            number,
            checked,
            reason=_check_reason(reason),
            actor=current_actor(),
            override_reason=override_reason,
        )

    def end_canary(self, name: str, outcome: str, *, reason: str = "", project: str | None = None) -> Canary:
        """End ``name``'s running canary as ``promoted``, ``rolled_back`` or ``stopped``; ``NotFound`` if none runs.

        Ending moves no alias: to make the version champion, ``promote`` it (the gate decides, as always),
        preferably before ending the canary, so that servers go straight from the canary to the new champion
        (a server drops a canary of the version its champion serves). Running servers stop sending it
        traffic at their next poll. Audited.
        """
        project = self._project(project)
        name = _check_model_name(name)
        checked = _check_outcome(outcome)
        return self._backend.canaries.end(project, name, checked, reason=_check_reason(reason), actor=current_actor())

    def canary(self, name: str, *, project: str | None = None) -> Canary | None:
        """``name``'s running canary, or None."""
        return self._backend.canaries.running(self._project(project), _check_model_name(name))

    def canaries(self, name: str, *, project: str | None = None, limit: int = 20) -> builtins.list[Canary]:
        """``name``'s canaries, newest first, ended ones with their outcome."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInput(f"The 'limit' parameter of canaries must be a positive integer. Got {limit!r} instead.")
        return self._backend.canaries.history(self._project(project), _check_model_name(name), limit=limit)

    def _project(self, project: str | None) -> str:
        return v.check_name(project or self._settings.project, "project")


def _check_model_name(name: str) -> str:
    v.check_name(name, "model")
    if "@" in name:
        raise InvalidInput(f"A model name cannot contain '@' (it separates the version or alias); got {name!r}.")
    return name


def _check_share(share: object) -> float:
    if isinstance(share, bool) or not isinstance(share, numbers.Real) or not math.isfinite(share):
        raise InvalidInput(
            f"The 'share' parameter of start_canary must be a number in (0, {MAX_CANARY_SHARE}]. Got {share!r} instead."
        )
    fraction = float(share)
    if not 0 < fraction <= MAX_CANARY_SHARE:
        hint = f" Did you mean {fraction / 100:g} ({fraction:g} %)?" if 1 < fraction <= MAX_CANARY_SHARE * 100 else ""
        raise InvalidInput(
            f"The 'share' parameter of start_canary must be in (0, {MAX_CANARY_SHARE}]: a fraction of traffic, "
            f"at most half (to send more, promote the version). Got {share!r} instead.{hint}"
        )
    return fraction


def _check_outcome(outcome: object) -> str:
    if outcome not in CANARY_OUTCOMES:
        close = difflib.get_close_matches(str(outcome), CANARY_OUTCOMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidInput(
            f"A canary ends as one of {', '.join(CANARY_OUTCOMES)}; got {outcome!r}.{hint} "
            "(Ending it moves no alias: promote the version with promote().)"
        )
    return str(outcome)


def _check_reason(reason: object) -> str:
    if not isinstance(reason, str):
        raise InvalidInput(f"A canary's reason is text; got {type(reason).__name__} {reason!r}.")
    return reason


def _check_role(role: str) -> str:
    try:
        return check_alias(role)
    except InvalidInput:
        raise InvalidInput(
            f"A dataset role is a short lower-case word such as 'train', 'eval' or 'test'; got {role!r}."
        ) from None


__all__ = ["Models"]
