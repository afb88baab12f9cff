"""MLflow's side of ``bench/serving.py``: save the benchmark's model as an MLflow model, ready for ``models serve``.

    <mlflow venv>/bin/python bench/_serving_mlflow.py --model model.pkl --data train.npz --out FOLDER

Run with the MLflow virtualenv's python (no Shipyard there). When that virtualenv's scikit-learn is the
version that pickled ``--model``, the very same fitted object is used; otherwise the model is fitted here
again, with the same estimator settings on the same training rows (``--data``: the feature matrix ``x``,
the labels ``y`` and the column names), and its coefficients are handed back so the caller can check
that they match. ``mlflow.sklearn.save_model`` writes the model folder, with 5 training rows as the input
example (so MLflow infers a 20-column signature and enforces it on each request, as a logged model would).
Prints one JSON document: versions, how the model was obtained, its coefficients and intercept.
"""

from __future__ import annotations

import argparse
import json
import pickle
import platform
import warnings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="the pickled, fitted model")
    parser.add_argument("--data", required=True, help="npz with x, y and columns (to refit if needed)")
    parser.add_argument("--sklearn-version", required=True, help="the scikit-learn that pickled --model")
    parser.add_argument("--out", required=True, help="the MLflow model folder to create")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # MLflow's advisory warnings would only clutter the caller's output

    import mlflow
    import numpy as np
    import pandas as pd
    import sklearn

    data = np.load(args.data, allow_pickle=False)
    frame = pd.DataFrame(data["x"], columns=[str(c) for c in data["columns"]])
    if sklearn.__version__ == args.sklearn_version:
        with open(args.model, "rb") as file:
            model = pickle.load(file)
        how = "the same pickled object"
    else:
        from sklearn.linear_model import LogisticRegression

        with open(args.model, "rb") as file:
            params = pickle.load(file).get_params()  # plain values; unpickles across nearby versions
        model = LogisticRegression(**params).fit(frame, data["y"])
        how = f"refitted here (scikit-learn {sklearn.__version__} vs {args.sklearn_version})"
    mlflow.sklearn.save_model(model, args.out, input_example=frame.head(5))
    print(
        json.dumps(
            {
                "mlflow": mlflow.__version__,
                "sklearn": sklearn.__version__,
                "python": platform.python_version(),
                "model": how,
                "coef": model.coef_.ravel().tolist(),
                "intercept": model.intercept_.ravel().tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
