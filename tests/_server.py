"""A Shipyard server for tests: in this process on a thread (fast, for suites run per backend), or as a
real ``shipyard server`` process (for what only a process shows: workers, SIGTERM, logs, two replicas)."""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from shipyard.backends.local import LocalBackend
from shipyard.core.config import Settings
from shipyard.server.app import create_app
from shipyard.server.context import ServerContext
from shipyard.server.main import ensure_first_admin, open_store

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    admin_token: str
    backend: LocalBackend  # the server's own store, for tests that set up users or check rows

    def token_for(self, user: str, role: str | None = None, project: str = "default", *, admin: bool = False) -> str:
        """A token of a new user (with ``role`` in ``project`` when given)."""
        accounts = self.backend.accounts
        accounts.add_user(user, admin=admin, actor="test")
        if role is not None:
            accounts.add_member(project, user, role, actor="test")
        return accounts.create_token(user, actor="test")[1]


class _Slot:
    """The ASGI app in front of one test's app: a uvicorn server outlives the tests it serves, an app does not.

    Between tests it answers 503; when a test's app is taken away, the requests it is still answering finish
    first (as they would on a server shutting down).
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self._answering = 0
        self._idle = threading.Condition()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        if app is None:
            if scope["type"] == "http":
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"no test is using this server"})
            return
        with self._idle:
            self._answering += 1
        try:
            await app(scope, receive, send)
        finally:
            with self._idle:
                self._answering -= 1
                self._idle.notify_all()

    def clear(self, timeout: float = 10) -> None:
        """Take the app away, once the requests it is answering are done (or ``timeout`` seconds passed)."""
        self.app = None
        with self._idle:
            self._idle.wait_for(lambda: self._answering == 0, timeout)


@dataclass
class _Uvicorn:
    url: str
    slot: _Slot
    server: uvicorn.Server
    thread: threading.Thread


_started: list[_Uvicorn] = []
_idle_servers: list[_Uvicorn] = []
"""uvicorn servers on threads of this process, waiting for a test's app; started as tests need them (a test
may hold more than one at a time) and stopped when the process exits."""


def _start_uvicorn() -> _Uvicorn:
    slot = _Slot()
    port = free_port()
    config = uvicorn.Config(slot, host="127.0.0.1", port=port, log_level="warning", lifespan="off", interface="asgi3")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready = threading.Event()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        ready.wait(0.01)
    _started.append(_Uvicorn(f"http://127.0.0.1:{port}", slot, server, thread))
    return _started[-1]


@atexit.register
def _stop_all() -> None:
    for served in _started:
        served.server.should_exit = True
    for served in _started:
        served.thread.join(10)


@contextmanager
def server_thread(uri: str, artifacts: str, cwd: Path, **app_options: Any) -> Iterator[RunningServer]:
    """``shipyard server``'s app, over the store at ``uri`` (``app_options`` go to ``create_app``, such as
    ``max_body_bytes``), served by uvicorn on a thread of this process.

    The app and its store are the test's own; the uvicorn server is one kept from an earlier test, since
    stopping one takes a fifth of a second (what a server's process does at startup and shutdown is tested
    with ``server_process``).
    """
    backend = open_store(Settings.load(cwd=cwd, environ={}, uri=uri, artifacts=artifacts))
    try:
        first = ensure_first_admin(backend, "test")
        assert first is not None
        app = create_app(ServerContext(backend), **app_options)
    except BaseException:
        backend.close()
        raise
    served = _idle_servers.pop() if _idle_servers else _start_uvicorn()
    served.slot.app = app
    try:
        yield RunningServer(served.url, first.token, backend)
    finally:
        served.slot.clear()
        if served.thread.is_alive():
            _idle_servers.append(served)
        app.state.gate.close()  # the gate's worker processes
        backend.close()


@contextmanager
def server_process(
    uri: str,
    artifacts: str,
    cwd: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    options: tuple[str, ...] = (),
) -> Iterator[tuple[RunningServer, subprocess.Popen[bytes]]]:
    """A real ``shipyard server`` process on a free port (``options``: more of its command line); the first
    admin's token read from its output."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")} | (env or {})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipyard.cli",
            "server",
            "--db",
            uri,
            "--artifacts",
            artifacts,
            "--port",
            str(port),
            "--workers",
            str(workers),
            *options,
        ],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    backend = open_store(Settings.load(cwd=cwd, environ={}, uri=uri, artifacts=artifacts))
    try:
        token = _first_token(process)
        _wait_ready(f"http://127.0.0.1:{port}", process)
        yield RunningServer(f"http://127.0.0.1:{port}", token, backend), process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        backend.close()


def _first_token(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    for raw in process.stdout:
        line = raw.decode().strip()
        if line.startswith("sy_"):
            return line
    raise RuntimeError(
        f"the server printed no admin token; stderr: {process.stderr.read().decode() if process.stderr else ''}"
    )


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx2 as httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        threading.Event().wait(0.05)
    raise RuntimeError("the server was not ready within a minute")
