"""The HTTP floors of ``bench/serving.py``: a bare FastAPI app, one worker, nothing but what an endpoint must do.

    python bench/_serving_floor.py --mode constant --port P
    python bench/_serving_floor.py --mode predict --model model.pkl --port P

``constant``: ``POST /predict`` reads the request body (as any real endpoint must) and returns a constant
JSON document. ``predict``: the same endpoint parses the body with orjson (``{"rows": [{"f0": ..., ...}]}``,
the body Shipyard's server gets), builds a 1 x 20 float64 numpy array in the model's column order and
returns ``model.predict`` of it. ``GET /ready`` answers 200 once the app is up. Served by uvicorn with one
worker, uvloop and httptools, access log off: the settings Shipyard's server uses.
"""

from __future__ import annotations

import argparse
import pickle
import warnings
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

CONSTANT = orjson.dumps({"predictions": [0]})


def constant_app() -> FastAPI:
    app = FastAPI()

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        await request.body()
        return Response(CONSTANT, media_type="application/json")

    @app.get("/ready")
    async def ready() -> Response:
        return Response(b"ok")

    return app


def predict_app(model_path: str) -> FastAPI:
    import numpy as np

    with open(model_path, "rb") as file:
        model = pickle.load(file)
    columns = [str(c) for c in model.feature_names_in_]
    # The model was fitted on a DataFrame; a plain array makes scikit-learn warn on every call. The floor
    # passes the columns in the fitted order, so the warning says nothing here.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    app = FastAPI()

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        row = orjson.loads(await request.body())["rows"][0]
        x = np.array([[row[c] for c in columns]], dtype=np.float64)
        return Response(orjson.dumps({"predictions": model.predict(x).tolist()}), media_type="application/json")

    @app.get("/ready")
    async def ready() -> Response:
        return Response(b"ok")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["constant", "predict"], required=True)
    parser.add_argument("--model", help="a pickled scikit-learn model (--mode predict)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.mode == "predict" and not args.model:
        parser.error("--mode predict needs --model")
    app: Any = constant_app() if args.mode == "constant" else predict_app(args.model)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
