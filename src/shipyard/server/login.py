"""``POST /api/v1/login``: a name and password for a short-lived API token (the web UI's sign-in).

Passwords are checked by the accounts store (argon2); repeated failures for one name are refused for a
while (429 with ``Retry-After``), the same on every replica because the failures are kept in the database.
The answer is a token like any other, expiring after ``LOGIN_HOURS``, revocable with ``shipyard tokens revoke``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from shipyard.client import codec, wire

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shipyard.server.context import ServerContext

LOGIN_HOURS = 12


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=4096)


def add_routes(app: FastAPI, context: ServerContext) -> None:
    @app.post(f"{wire.API}/login", tags=["accounts"], openapi_extra={"x-shipyard-role": "anyone"})
    def login(body: Login) -> Response:
        accounts = context.backend.accounts
        principal = accounts.login(body.name, body.password)
        expires_at = int(time.time() * 1000) + LOGIN_HOURS * 3600 * 1000
        token, secret = accounts.create_token(principal.name, name="login", expires_at=expires_at, actor=principal.name)
        payload = {"token": secret, "user": principal.name, "expires_at": token.expires_at, "token_id": token.id}
        return Response(codec.dumps(payload), media_type="application/json")
