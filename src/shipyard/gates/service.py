"""``Gate``: run the release gate and read verdicts (``client.gate`` / ``sy.gate``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.core.entities import DatasetVersion, ModelVersion
from shipyard.core.errors import NotFound

if TYPE_CHECKING:
    from shipyard.gates.policy import Policy
    from shipyard.gates.verdict import Verdict
    from shipyard.tracking.client import Client


class Gate:
    """The release gate of one store.

    >>> verdict = client.gate.evaluate("churn@7", data="churn-eval")
    >>> verdict.passed, [c.name for c in verdict.failed]
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def policy(self, file: str | Path | None = None) -> Policy:
        """The project's policy (``[gate]`` of ``shipyard.toml``), or the one in ``file``."""
        from shipyard.gates.policy import load_policy

        return load_policy(self._client.settings.root, Path(file) if file is not None else None)

    def evaluate(
        self,
        model: str | ModelVersion,
        *,
        data: str | DatasetVersion,
        policy: str | Path | None = None,
        project: str | None = None,
    ) -> Verdict:
        """Run the policy's checks on ``model`` with the eval dataset version ``data``; store and return the verdict."""
        from shipyard.gates.runner import evaluate

        version = model if isinstance(model, ModelVersion) else self._client.models.get(model, project=project)
        dataset = self._client.datasets.get(data, project=project or version.project)
        return evaluate(self._client, version, dataset, self.policy(policy))

    def evaluate_many(
        self,
        models: list[str | ModelVersion],
        *,
        data: str | DatasetVersion,
        policy: str | Path | None = None,
        project: str | None = None,
    ) -> list[Verdict]:
        """Judge several challengers together: each gets its own verdict, and every comparison with the
        champion is Bonferroni-corrected for their number, so trying many does not let a worse one through."""
        from shipyard.gates.runner import evaluate

        versions = [m if isinstance(m, ModelVersion) else self._client.models.get(m, project=project) for m in models]
        loaded = self.policy(policy)
        verdicts = []
        for version in versions:
            dataset = self._client.datasets.get(data, project=project or version.project)
            verdicts.append(evaluate(self._client, version, dataset, loaded, family_size=len(versions)))
        return verdicts

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
