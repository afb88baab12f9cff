"""``Gate``: run the release gate, read verdicts, and keep the policy in force (``Gate(client)`` / ``sy.gate``).

The policy that decides is the one **in force**, kept in the metadata store per project and versioned.
``shipyard.toml`` is where a policy is written and reviewed; ``apply`` makes it the one in force (an audit
event with the diff; a weakening change needs a reason). A project's first policy is applied implicitly
the first time the gate needs one. ``evaluate`` runs under the policy in force unless told otherwise; a
verdict under another policy, or on evaluation data other than the data the policy requires, is a
*preview*: it is stored and reported, and it can never promote.

Against a team server (an HTTP backend, ``backend.gate_server``) the server runs the gate, under its policy in
force, and stores the verdict with the caller as actor; this process only asks and rebuilds the verdicts.
``local=True`` (``shipyard gate run --local``), or a policy file other than the one in force, computes here
instead and stores nothing: a preview that cannot promote (the file in force itself is judged by the server).
The implicit first apply goes through the server, which lets only a maintainer apply; for anyone else the gate
runs under no policy in force (which never passes), with a note.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.actor import current_actor
from shipyard.core.config import CONFIG_FILE
from shipyard.core.entities import DatasetVersion, GatePolicyVersion, ModelVersion
from shipyard.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

if TYPE_CHECKING:
    from shipyard.backends.protocol import GateServer
    from shipyard.core.entities import Decision
    from shipyard.core.policy_rules import PolicyChange
    from shipyard.gates.policy import Policy
    from shipyard.gates.verdict import Verdict
    from shipyard.tracking.client import Client


class Gate:
    """The release gate of one client's store (``sy.gate`` is the default client's).

    >>> gate = Gate(client)
    >>> verdict = gate.evaluate("churn@7")                 # the policy in force, on the data it requires
    >>> verdict.passed, [c.name for c in verdict.failed]
    """

    def __init__(self, client: Client, *, files: bool = True) -> None:
        self._client = client
        self._files = files  # False on a server: the policy in force only, never the server's own shipyard.toml
        self._apply_refused: dict[str, str] = {}

    # policies ---------------------------------------------------------------------------------------

    def policy(self, file: str | Path | None = None) -> Policy:
        """The policy written in ``shipyard.toml`` (``[gate]``), or in ``file``: validated, not applied."""
        from shipyard.gates.policy import load_policy

        return load_policy(self._client.settings.root, Path(file) if file is not None else None)

    def in_force(self, project: str | None = None) -> GatePolicyVersion | None:
        """The policy in force in ``project``: applied from ``shipyard.toml`` implicitly if none is yet."""
        project = self._project(project)
        stored = self._client.backend.policies.in_force(project)
        if stored is None and self._written_down():
            local = self.policy()
            try:
                self._client.backend.policies.apply(
                    project, local.raw, source=local.source, implicit=True, actor=current_actor()
                )
            except Conflict:  # another process applied the first one meanwhile
                pass
            except PermissionDenied as refused:  # a server lets only a maintainer apply, even the first
                self._apply_refused[project] = str(refused)
                return None
            stored = self._client.backend.policies.in_force(project)
        return stored

    def policy_in_force(self, project: str | None = None) -> Policy:
        """The policy in force, parsed and validated like a file; the defaults (never passing) if there is none."""
        from shipyard.gates.policy import Policy, parse_policy

        stored = self.in_force(project)
        if stored is None:
            return Policy(source="(no policy in force: defaults)")
        return parse_policy(stored.table, f"the policy in force in project {stored.project!r} (v{stored.version})")

    def apply(
        self, file: str | Path | None = None, *, reason: str = "", project: str | None = None
    ) -> tuple[GatePolicyVersion, list[PolicyChange]]:
        """Make the policy in ``file`` (default ``shipyard.toml``) the one in force; (policy, its changes).

        Validated first; a change that weakens the gate (an alias unprotected, a check removed or made
        ``warn``, a threshold loosened, ``allow_unsafe``, the evaluation data changed) needs ``reason``.
        Applying the policy already in force changes nothing and returns no changes. Audited.
        """
        project = self._project(project)
        local = self.policy(file)
        if file is None and not self._written_down():
            raise InvalidInput(
                f"No [gate] table in {self._client.settings.root / CONFIG_FILE}; write the policy there (or pass "
                "a file) before applying it."
            )
        return self._client.backend.policies.apply(
            project, local.raw, source=local.source, reason=reason, implicit=False, actor=current_actor()
        )

    def history(self, project: str | None = None) -> list[GatePolicyVersion]:
        """Every policy applied in ``project``, newest (the one in force) first."""
        return self._client.backend.policies.history(self._project(project))

    def changes_from(self, file: str | Path | None = None, project: str | None = None) -> list[PolicyChange]:
        """How the policy in ``file`` (default ``shipyard.toml``) differs from the one in force (what ``apply``
        would change, each weakening marked); empty when it is the policy in force."""
        from shipyard.core.policy_rules import changes

        local = self.policy(file)
        stored = self._client.backend.policies.in_force(self._project(project))
        if stored is not None and stored.digest == local.digest:
            return []
        return changes(None if stored is None else stored.table, local.raw)

    def _written_down(self) -> bool:
        from shipyard.core.config import read_table

        if not self._files:
            return False
        return bool(read_table(self._client.settings.root / CONFIG_FILE, "gate"))

    # verdicts ---------------------------------------------------------------------------------------

    def evaluate(
        self,
        model: str | ModelVersion,
        *,
        data: str | DatasetVersion | None = None,
        policy: str | Path | None = None,
        project: str | None = None,
        local: bool = False,
    ) -> Verdict:
        """Run the policy in force on ``model`` and store the verdict.

        ``data`` defaults to the policy's ``[gate] data`` (its newest version, or the pinned one); other data
        gives a *preview* verdict, as does ``policy`` (a file) when it is not the policy in force. Against a
        server, the server runs the gate and stores the verdict; ``local=True`` (or a ``policy`` not in force)
        computes it in this process instead and stores nothing, a preview that cannot promote.
        """
        return self.evaluate_many([model], data=data, policy=policy, project=project, local=local)[0]

    def evaluate_many(
        self,
        models: list[str | ModelVersion],
        *,
        data: str | DatasetVersion | None = None,
        policy: str | Path | None = None,
        project: str | None = None,
        local: bool = False,
    ) -> list[Verdict]:
        """Judge several challengers together: each gets its own verdict, and every comparison with the
        champion is Bonferroni-corrected for their number, so trying many does not let a worse one through.

        ``local`` as for ``evaluate``: computed here, stored nowhere, never binding."""
        from shipyard.gates.runner import evaluate

        versions = [m if isinstance(m, ModelVersion) else self._client.models.get(m, project=project) for m in models]
        server = self._client.backend.gate_server
        if server is not None and not local and self._is_in_force(policy, {v.project for v in versions}):
            return self._on_server(server, versions, data)
        store = server is None and not local
        in_force = {p: self.policy_in_force(p) for p in {v.project for v in versions}}
        given = None if policy is None else self.policy(policy)
        verdicts = []
        for version in versions:
            chosen = given if given is not None else in_force[version.project]
            dataset = self._client.datasets.get(self._data(data, chosen), project=version.project)
            notes = self._notes(version.project, chosen, in_force[version.project], explicit=given is not None)
            verdicts.append(
                evaluate(self._client, version, dataset, chosen, family_size=len(versions), notes=notes, store=store)
            )
        return verdicts

    def _is_in_force(self, policy: str | Path | None, projects: set[str]) -> bool:
        """Whether ``policy`` (a file, or None for the policy in force) is what is in force in every project:
        then a server judges, and stores a binding verdict, as a local store does."""
        if policy is None:
            return True
        digest = self.policy(policy).digest
        return all(self.policy_in_force(p).digest == digest for p in projects)

    def _on_server(
        self, server: GateServer, versions: list[ModelVersion], data: str | DatasetVersion | None
    ) -> list[Verdict]:
        """Ask the server to judge ``versions`` (together, per project) and rebuild its verdicts."""
        from shipyard.gates.verdict import Verdict

        data_ref = data.ref if isinstance(data, DatasetVersion) else data
        by_project: dict[str, list[ModelVersion]] = {}
        for version in versions:
            by_project.setdefault(version.project, []).append(version)
        found: dict[int, Verdict] = {}
        for project, group in by_project.items():
            self.in_force(project)  # the implicit first apply, which the server lets only a maintainer make
            notes = self._file_notes(project)
            answers = server.evaluate(project, [v.ref for v in group], data=data_ref)
            for version, answer in zip(group, answers, strict=True):
                verdict = Verdict.from_dict(answer)
                found[version.id] = dataclasses.replace(verdict, notes=(*verdict.notes, *notes))
        return [found[v.id] for v in versions]

    def _data(self, data: str | DatasetVersion | None, policy: Policy) -> str | DatasetVersion:
        if data is not None:
            return data
        if policy.data is None:
            raise InvalidInput(
                "Name the evaluation data: pass data=… (--data on the command line), or better, name it in the "
                'policy with [gate] data = "DATASET" so that every verdict uses the same data.'
            )
        return str(policy.data)

    def _notes(self, project: str, chosen: Policy, in_force: Policy, *, explicit: bool) -> list[str]:
        notes = []
        if explicit and chosen.digest != in_force.digest:
            notes.append(
                f"{chosen.source} is not the policy in force, so this verdict is a preview that cannot promote; "
                "apply it with `shipyard gate policy apply`."
            )
        if in_force.data is None and in_force.checks:
            notes.append(
                "The policy in force names no evaluation data, so a verdict on any registered dataset binds (a "
                'failure on one still blocks until it passes there). Pin it: [gate] data = "DATASET".'
            )
        return notes if explicit else notes + self._file_notes(project)

    def _file_notes(self, project: str) -> list[str]:
        """What the user should know about their ``shipyard.toml`` against the policy in force."""
        where = self._client.settings.root / CONFIG_FILE
        refused = self._apply_refused.get(project)
        if refused is not None:
            return [
                f"No gate policy is in force in project {project!r}, and this server lets only a maintainer apply "
                f"{where} ({refused}). The gate ran under no policy in force, which never passes: ask a maintainer "
                f"to run `shipyard gate policy apply {CONFIG_FILE} --project {project}`."
            ]
        differs = self.changes_from(project=project) if self._written_down() else []
        if not differs:
            return []
        listing = "; ".join(c.text for c in differs[:5])
        return [
            f"{where} differs from the policy in force ({listing}); the gate ran under the policy in force. Make "
            "the file the one in force with `shipyard gate policy apply` (a weakening change needs --reason)."
        ]

    def decision(self, model: str | ModelVersion, *, project: str | None = None) -> Decision:
        """Would the gate let this version take a protected alias now? (``allowed``, ``reason``, ``verdict_id``).

        The same decision the store makes when the alias moves, read-only: what ``shipyard serve`` asks.
        """
        version = model if isinstance(model, ModelVersion) else self._client.models.get(model, project=project)
        return self._client.backend.verdicts.decision(version.project, version.id)

    def latest(self, model: str | ModelVersion, *, project: str | None = None) -> dict[str, Any]:
        """The newest verdict of a version, as stored (a dict, see ``Verdict.to_dict``)."""
        version = model if isinstance(model, ModelVersion) else self._client.models.get(model, project=project)
        found = self._client.backend.verdicts.latest(version.id)
        if found is None:
            raise NotFound(f"{version.ref} has no verdict yet; run `shipyard gate run {version.ref} --data DATASET`.")
        return found

    def report(self, model: str | ModelVersion, *, project: str | None = None) -> str:
        """The HTML report of a version's newest verdict, read back (digest-verified) from the artifact store."""
        found = self.latest(model, project=project)
        digest = found.get("report_digest")
        if not digest:
            raise NotFound("That verdict has no stored report.")
        return self._client.backend.blobs.read_bytes(digest).decode()

    def _project(self, project: str | None) -> str:
        from shipyard.core import validation as v

        return v.check_name(project or self._client.settings.project, "project")
