"""The demo's clients: batches of customers scored through ``POST /predict``, their ground truth sent back
through ``POST /feedback``, and the labelling job that turns the labelled log into the next training table.

Every request carries an ``X-Entity-Id`` (the batch's id), so which side of a canary answers it depends on
the id alone and a seeded run tells the same story twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.core.errors import ShipyardError
from shipyard.demo.data import FEATURES, LABEL, TIME

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.core.entities import DatasetVersion
    from shipyard.demo.asgi import InProcessServer
    from shipyard.serving.predlog import PredictionLog
    from shipyard.tracking import Client

RECENT = "churn-recent"


@dataclass
class Phase:
    """What a stretch of traffic got: per row, the truth, the served answer, its score, and the version."""

    name: str
    requests: int = 0
    truth: list[np.ndarray] = field(default_factory=list)
    answers: list[np.ndarray] = field(default_factory=list)
    scores: list[np.ndarray] = field(default_factory=list)
    versions: list[np.ndarray] = field(default_factory=list)

    def add(self, other: Phase) -> None:
        self.requests += other.requests
        for mine, theirs in zip(
            (self.truth, self.answers, self.scores, self.versions),
            (other.truth, other.answers, other.scores, other.versions),
            strict=True,
        ):
            mine.extend(theirs)

    def served_versions(self) -> list[int]:
        return sorted({int(v) for part in self.versions for v in np.unique(part)})

    def quality(self, version: int | None = None) -> tuple[int, float, float]:
        """(rows, accuracy of the served answers, roc_auc of the scores), of one version's rows or of all."""
        from sklearn.metrics import roc_auc_score

        versions = np.concatenate(self.versions) if self.versions else np.zeros(0, dtype=np.int64)
        keep = np.ones(len(versions), dtype=bool) if version is None else versions == version
        truth = np.concatenate(self.truth)[keep]
        answers = np.concatenate(self.answers)[keep]
        scores = np.concatenate(self.scores)[keep]
        if len(truth) == 0:
            return 0, float("nan"), float("nan")
        auc = float(roc_auc_score(truth, scores)) if len(np.unique(truth)) == 2 else float("nan")
        return len(truth), float(np.mean(truth == answers)), auc


class Traffic:
    """Sends customers to the in-process server and their labels after them."""

    def __init__(
        self, client: Client, server: InProcessServer, log: PredictionLog, *, request_rows: int, model: str = "churn"
    ) -> None:
        self.client = client
        self.server = server
        self.log = log
        self.request_rows = request_rows
        self.model = model
        self.sent = 0
        self._models: dict[int, Any] = {}

    def send(self, customers: pd.DataFrame, name: str, on_request: Callable[[int], None] | None = None) -> Phase:
        """Score ``customers`` in requests of ``request_rows`` rows, each followed by its feedback."""
        phase = Phase(name)
        for start in range(0, len(customers), self.request_rows):
            part = customers.iloc[start : start + self.request_rows]
            self.sent += 1
            payload = {"columns": {name: part[name].tolist() for name in FEATURES}}
            answer = self.server.post("/predict", payload, [("x-entity-id", f"batch-{self.sent}")])
            if answer.status != 200:
                raise ShipyardError(f"The server refused a demo request ({answer.status}): {answer.body[:500]!r}")
            body = answer.json()
            labels = part[LABEL].to_numpy()
            items = [{"request_id": body["request_id"], "label": int(y), "row": i} for i, y in enumerate(labels)]
            feedback = self.server.post("/feedback", {"items": items})
            if feedback.status != 202:
                raise ShipyardError(f"The server refused demo feedback ({feedback.status}): {feedback.body[:500]!r}")
            version = int(body["version"])
            phase.requests += 1
            phase.truth.append(labels)
            phase.answers.append(np.asarray(body["predictions"]))
            phase.scores.append(self._model(version).predict_proba(part[list(FEATURES)])[:, 1])
            phase.versions.append(np.full(len(part), version))
            if on_request is not None:
                on_request(version)
        return phase

    def publish_labelled(self, rows: int) -> DatasetVersion:
        """The labelling job: the newest ``rows`` logged rows whose ground truth came back, as ``churn-recent``."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from shipyard.serving.predictions import read_feedback, read_predictions

        self.log.flush()
        project = self.client.settings.project
        predictions = read_predictions(self.client.backend, project, self.model)
        feedback = read_feedback(self.client.backend, project, self.model).select(["request_id", "row", "label"])
        joined = predictions.join(feedback, keys=["request_id", "row"], join_type="inner")
        joined = joined.sort_by([("at", "ascending"), ("request_id", "ascending"), ("row", "ascending")])
        newest = joined.slice(max(0, joined.num_rows - rows))
        table = pa.table(
            {
                **{name: newest.column(name) for name in FEATURES},
                TIME: newest.column("at"),
                LABEL: pc.cast(newest.column("label"), pa.int64()),
            }
        )
        return self.client.datasets.register(RECENT, table, description="labelled traffic (the labelling job)")

    def _model(self, version: int) -> Any:
        """The version's model, to score what it answered (the log holds its labels, not its scores)."""
        if version not in self._models:
            self._models[version] = self.client.models.load(f"{self.model}@{version}")
        return self._models[version]
