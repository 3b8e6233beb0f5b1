"""Who is calling: bearer tokens mapped to roles; the big screen's cookie; the read-only default.

Reads need the viewer role, case entries and facts the approval role (an
approval system, scoped to its units, or the supervision office), every other
write the supervisor role. The big screen gets
its token once in its URL, which becomes an HttpOnly cookie; the cookie is
honoured for reads only, so another site cannot make a logged-in browser
write (no CSRF on writes).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from central.api_users import ROLE_RANK, ApiRole, CaseFeed
from central.config import WebSettings

COOKIE = "hallwatch_screen"
bearer = HTTPBearer(auto_error=False, description="an API token issued in central's [web] users")


@dataclass(frozen=True)
class Principal:
    name: str
    role: ApiRole
    units: frozenset[str] | None = None
    """The units whose cases it may state facts of; None: every unit."""
    feed: CaseFeed = CaseFeed.LIVE

    def may(self, role: ApiRole) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


ANONYMOUS_VIEWER = Principal("anonymous", ApiRole.VIEWER)


class Authenticator:
    def __init__(self, settings: WebSettings) -> None:
        self._users = [
            (user.token_digest(), Principal(user.name, user.role,
                                            frozenset(user.units) if user.units is not None else None,
                                            user.feed))
            for user in settings.users
        ]
        self.public_screen = settings.public_screen

    def identify(self, token: str | None) -> Principal | None:
        if not token:
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        found = None
        for known, principal in self._users:
            # Compare against every entry so timing says nothing about which matched.
            if hmac.compare_digest(known, digest):
                found = principal
        return found


def require(role: ApiRole) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers with at least `role`."""

    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Principal:
        auth: Authenticator = request.app.state.auth
        token = credentials.credentials if credentials is not None else None
        if token is None and role == ApiRole.VIEWER:
            token = request.cookies.get(COOKIE)
        principal = auth.identify(token)
        if principal is None:
            if token is None and role == ApiRole.VIEWER and auth.public_screen:
                return ANONYMOUS_VIEWER
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "a valid API token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not principal.may(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role.value} role")
        return principal

    return check


reader = require(ApiRole.VIEWER)
case_writer = require(ApiRole.APPROVAL)
writer = require(ApiRole.SUPERVISOR)
