"""What checks look at: the candidate, its predictions on the eval data, the champion, the lineage.

Everything is computed on first use and kept, so twelve checks predict once, not twelve times.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from shipyard.core.entities import DatasetVersion, ModelVersion
from shipyard.core.errors import InvalidInput, NotFound
from shipyard.core.refs import Ref
from shipyard.gates.check import CheckFailedToRun
from shipyard.gates.policy import Policy

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from shipyard.packaging.package import LoadedModel
    from shipyard.registry.lineage import ModelLineage
    from shipyard.tracking.client import Client

CLASSIFICATION_MAX_CLASSES = 50


class GateContext:
    def __init__(
        self, client: Client, version: ModelVersion, dataset: DatasetVersion, policy: Policy, *, family_size: int = 1
    ) -> None:
        self.client = client
        self.version = version
        self.dataset = dataset
        self.policy = policy
        # How many challengers are compared with the champion at once: comparisons correct for it
        # (Bonferroni), so that testing many candidates does not let a worse one through by chance.
        self.family_size = max(1, family_size)

    # data -------------------------------------------------------------------------------------------

    @cached_property
    def table(self) -> pa.Table:
        return self.client.datasets.load(self.dataset, project=self.version.project)

    @cached_property
    def input_columns(self) -> list[str]:
        return _input_columns(self.version)

    @cached_property
    def label(self) -> str:
        if self.policy.label is not None:
            if self.policy.label not in self.table.column_names:
                raise CheckFailedToRun(
                    f"the label column {self.policy.label!r} ([gate] label) is not in {self.dataset.ref}; its "
                    f"columns are {', '.join(self.table.column_names)}"
                )
            return self.policy.label
        others = [c for c in self.table.column_names if c not in self.input_columns]
        if len(others) != 1:
            raise CheckFailedToRun(
                f"cannot tell the label column of {self.dataset.ref}: the columns the model does not take are "
                f'{others or "none"}; set [gate] label = "…" in shipyard.toml'
            )
        return str(others[0])

    @cached_property
    def y_true(self) -> np.ndarray:
        import numpy as np

        column = self.table.column(self.label)
        if column.null_count:
            raise CheckFailedToRun(f"the label column {self.label!r} has {column.null_count} missing value(s)")
        return np.asarray(column.to_numpy(zero_copy_only=False))

    @cached_property
    def task(self) -> str:
        if self.policy.task is not None:
            return self.policy.task
        import numpy as np

        y = self.y_true
        if y.dtype.kind in "bUSO" or (y.dtype.kind in "iu" and len(np.unique(y)) <= CLASSIFICATION_MAX_CLASSES):
            return "classification"
        return "regression"

    @cached_property
    def features(self) -> pa.Table:
        missing = [c for c in self.input_columns if c not in self.table.column_names]
        if missing:
            raise CheckFailedToRun(f"{self.dataset.ref} lacks the model's input column(s) {', '.join(missing)}")
        return self.table.select(self.input_columns)

    # the candidate ----------------------------------------------------------------------------------

    @cached_property
    def model(self) -> LoadedModel:
        return self._load(self.version)

    def _load(self, version: ModelVersion) -> LoadedModel:
        try:
            return self.client.models.load(version, trust_unsafe=self.policy.allow_unsafe)
        except Exception as exc:  # the check that needs the model reports why it could not run
            raise CheckFailedToRun(f"{version.ref} could not be loaded: {exc}") from exc

    @cached_property
    def predictions(self) -> np.ndarray:
        return self._predict(self.model, "predict", self.features, "the model")

    @cached_property
    def scores(self) -> np.ndarray | None:
        return self._scores(self.model, self.features, "the model")

    def _predict(self, model: LoadedModel, method: str, features: pa.Table, who: str) -> np.ndarray:
        try:
            result: np.ndarray = getattr(model, method)(features)
        except InvalidInput as exc:
            raise CheckFailedToRun(f"{who} refused {self.dataset.ref}: {exc}") from exc
        return result

    def _scores(self, model: LoadedModel, features: pa.Table, who: str) -> np.ndarray | None:
        if self.task != "classification" or not model.has_predict_proba:
            return None
        proba = self._predict(model, "predict_proba", features, who)
        return proba[:, 1] if proba.ndim == 2 and proba.shape[1] == 2 else proba

    # the champion -----------------------------------------------------------------------------------

    @cached_property
    def champion_alias(self) -> str:
        protected = sorted(self.policy.protected_aliases)
        return "champion" if "champion" in protected or not protected else protected[0]

    @cached_property
    def champion(self) -> ModelVersion | None:
        try:
            found = self.client.backend.registry.get_version(
                self.version.project, Ref(self.version.name, alias=self.champion_alias)
            )
        except NotFound:
            return None
        return None if found.id == self.version.id else found

    @cached_property
    def champion_features(self) -> pa.Table:
        """The eval rows through the champion's own input columns: the same rows, in the same order, as
        ``features``, so comparisons stay paired even when the candidate changed the feature set; and a
        candidate cannot choose which columns the champion is judged on."""
        assert self.champion is not None
        columns = _input_columns(self.champion)
        missing = [c for c in columns if c not in self.table.column_names]
        if missing:
            raise CheckFailedToRun(
                f"{self.dataset.ref} lacks the input column(s) {', '.join(missing)} of the {self.champion_alias} "
                f"{self.champion.ref}, so the candidate cannot be compared with it; each model is scored on its "
                "own inputs, so evaluate on data that holds the columns of both"
            )
        return self.table.select(columns)

    @cached_property
    def champion_predictions(self) -> np.ndarray:
        return self._predict(self._champion_model, "predict", self.champion_features, self._champion_who)

    @cached_property
    def champion_scores(self) -> np.ndarray | None:
        return self._scores(self._champion_model, self.champion_features, self._champion_who)

    @property
    def _champion_who(self) -> str:
        assert self.champion is not None
        return f"the {self.champion_alias} {self.champion.ref}"

    @cached_property
    def _champion_model(self) -> LoadedModel:
        assert self.champion is not None
        return self._load(self.champion)

    # lineage ----------------------------------------------------------------------------------------

    @cached_property
    def lineage(self) -> ModelLineage:
        from shipyard.registry.lineage import ModelLineage

        found = self.client.lineage(self.version)
        assert isinstance(found, ModelLineage)
        return found

    @cached_property
    def train_version(self) -> DatasetVersion | None:
        for role, version in self.lineage.trained_on:
            if role == "train":
                return version
        return None

    @cached_property
    def train_table(self) -> pa.Table:
        """The recorded training dataset version's table (callers check ``train_version`` first)."""
        assert self.train_version is not None
        return self.client.datasets.load(self.train_version, project=self.version.project)

    def metric_inputs(self, metric: str, *, champion: bool = False) -> dict[str, Any]:
        """Keyword arguments for ``gates.metrics.compute``: labels or scores, as the metric needs."""
        from shipyard.gates.metrics import METRICS

        spec = METRICS[metric]
        if spec.needs == "scores":
            scores = self.champion_scores if champion else self.scores
            if scores is None:
                raise CheckFailedToRun(f"{metric} needs class probabilities, and the model gives none")
            return {"scores": scores}
        return {"labels": self.champion_predictions if champion else self.predictions}


def _input_columns(version: ModelVersion) -> list[str]:
    """The columns a model version takes, in its signature's order."""
    return [c["name"] for c in version.signature.get("inputs", [])]
