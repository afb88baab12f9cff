"""The throughput floor of ``bench/serving.py``: a bare ASGI app that parses the body and answers a constant.

    python bench/_serving_asgi_floor.py --port P

Shipyard answers ``POST /predict`` straight from the ASGI scope, ahead of FastAPI's routing, so a FastAPI
endpoint is no longer the least an HTTP answer can cost: this app is. ``POST /predict`` reads the whole
body, parses it with orjson (the parser Shipyard uses; 400 if it is not JSON) and sends a constant JSON
document with ``Content-Type`` and ``Content-Length``. ``GET /ready`` answers 200. No framework, no
validation, no model. Served as Shipyard's server is: uvicorn, one worker, uvloop + httptools, access log
off. Anything Shipyard's server does beyond this (routing, validation, batching, the model, the
prediction log) is what the ratio to this floor prices.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
import uvicorn

CONSTANT = orjson.dumps({"predictions": [0]})
JSON_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(CONSTANT)).encode())]


async def send_bytes(send: Any, status: int, payload: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":  # uvicorn asks; answer so it does not log a warning
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/predict" and scope["method"] == "POST":
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        try:
            orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError:
            await send_bytes(send, 400, b"not JSON", [(b"content-length", b"8")])
            return
        await send_bytes(send, 200, CONSTANT, JSON_HEADERS)
    elif scope["path"] == "/ready":
        await send_bytes(send, 200, b"ok", [(b"content-length", b"2")])
    else:
        await send_bytes(send, 404, b"", [(b"content-length", b"0")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
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
