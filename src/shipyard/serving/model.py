"""A model version ready to serve: loaded (digest verified), its validator, and the fastest safe input path.

For a model of numeric inputs whose library also takes a plain float matrix (scikit-learn), a batch goes
to the model as one matrix in the model's column order instead of through a DataFrame, which costs
more than the prediction itself for small batches. That path is only taken after a probe at load
shows the model answers the matrix exactly as it answers the validated table.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from shipyard.core.entities import ModelVersion
from shipyard.serving.validation import Batch, RowValidator

if TYPE_CHECKING:
    import numpy as np

    from shipyard.packaging.package import LoadedModel

# A model fitted on a DataFrame warns when given a matrix; the probe has shown the matrix is in its order.
warnings.filterwarnings("ignore", message="X does not have valid feature names")


class ServedModel:
    """One loaded version: ``predict(batch)`` returns one prediction (or probability row) per input row."""

    def __init__(self, version: ModelVersion, loaded: LoadedModel, *, gate_passed: bool, gate_reason: str = "") -> None:
        self.version = version
        self.loaded = loaded
        self.gate_passed = gate_passed
        """Served under a protected alias and holding a passing verdict under the policy in force, checked at load."""
        self.gate_reason = gate_reason
        """Why (verdict id) or why not, in words."""
        self.validator = RowValidator(loaded.signature)
        self.has_proba = loaded.has_predict_proba
        self._scores = self.has_proba
        self.number_header = (b"x-model-version", str(version.version).encode())
        """The response header naming this version, built once."""
        self._native: Any = None
        self._classes: np.ndarray | None = None
        self._order: list[str] = self.validator.names
        if self.validator.numeric:
            self._probe()

    @property
    def name(self) -> str:
        return self.version.name

    @property
    def number(self) -> int:
        return self.version.version

    @property
    def fast_path(self) -> bool:
        return self._native is not None

    def predict_scored(self, batch: Batch) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions, and for a binary classifier with probabilities the positive class's probability of each
        row (the prediction log's ``score``, which score-based live metrics such as roc_auc need); else None.

        The input is converted once for both calls. A model whose probabilities are not two columns, or raise,
        is not asked again.
        """
        import numpy as np

        if not self._scores:
            return self.predict(batch), None
        if self._classes is not None:  # one call gives both (checked at load)
            probabilities = np.asarray(self._native.predict_proba(self._matrix(batch)))
            return self._classes[probabilities.argmax(axis=1)], probabilities[:, 1]
        if self._native is not None:
            matrix = self._matrix(batch)
            predictions, proba_of = np.asarray(self._native.predict(matrix)), self._native.predict_proba
            given: Any = matrix
        else:
            given = self._table(batch)
            predictions, proba_of = self.loaded.predict(given), self.loaded.predict_proba
        try:
            probabilities = np.asarray(proba_of(given))
        except Exception:
            self._scores = False
            return predictions, None
        if probabilities.ndim != 2 or probabilities.shape[1] != 2:
            self._scores = False
            return predictions, None
        return predictions, probabilities[:, 1]

    def predict(self, batch: Batch, *, proba: bool = False) -> np.ndarray:
        if self._native is not None:
            matrix = self._matrix(batch)
            method = self._native.predict_proba if proba else self._native.predict
            import numpy as np

            return np.asarray(method(matrix))
        table = self._table(batch)
        return self.loaded.predict_proba(table) if proba else self.loaded.predict(table)

    def _matrix(self, batch: Batch) -> np.ndarray:
        import numpy as np

        return np.array([batch.columns[name] for name in self._order], dtype=np.float64).T

    def _table(self, batch: Batch) -> Any:
        import pyarrow as pa

        from shipyard.packaging.signature import ARROW_TYPES

        specs = self.loaded.signature.inputs
        return pa.table({s.name: pa.array(batch.columns[s.name], type=ARROW_TYPES[s.type]) for s in specs})

    def _probe(self) -> None:
        """Take the matrix path only if the model answers a matrix exactly as it answers the table."""
        import numpy as np

        native = self.loaded.native_matrix()
        if native is None:
            return
        model, order = native
        if order is not None and sorted(order) != sorted(self.validator.names):
            return
        rows = [{name: float(i % 3) - 0.5 * j for j, name in enumerate(self.validator.names)} for i in range(4)]
        batch = Batch({n: [r[n] for r in rows] for n in self.validator.names}, len(rows))
        self._order = order or self.validator.names
        try:
            expected = self.loaded.predict(self._table(batch))
            got = np.asarray(model.predict(self._matrix(batch)))
        except Exception:
            self._order = self.validator.names
            return
        if got.shape == expected.shape and np.array_equal(got, expected):
            self._native = model
            self._classes = self._argmax_classes(model, self._matrix(batch), got)
        else:
            self._order = self.validator.names

    def _argmax_classes(self, model: Any, matrix: np.ndarray, predicted: np.ndarray) -> np.ndarray | None:
        """A binary classifier's classes, if its predictions are the class of the larger probability (as for
        scikit-learn's classifiers): then one ``predict_proba`` call gives both predictions and scores."""
        import numpy as np

        classes = getattr(model, "classes_", None)
        if not self.has_proba or classes is None or len(classes) != 2:
            return None
        try:
            derived = np.asarray(classes)[np.asarray(model.predict_proba(matrix)).argmax(axis=1)]
        except Exception:
            return None
        return np.asarray(classes) if np.array_equal(derived, predicted) else None

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "version": self.number,
            "flavor": self.loaded.flavor,
            "gate_passed": self.gate_passed,
            "gate": {"passed": self.gate_passed, "reason": self.gate_reason},
            "signature": self.loaded.signature.to_dict(),
        }
