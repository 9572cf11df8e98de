"""Authentication (a server-side session for pages, bearer token for the API) and role guards."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from models.accounts.sessions import SessionPolicy, session_user
from models.accounts.users import CurrentUser, user_for_token

#: The session cookie's key holding the session token (`models.accounts.sessions`).
SESSION_TOKEN_KEY = "sid"
PUBLIC_PATHS = ["^/login", "^/healthz", "^/readyz", "^/static/", "^/favicon.ico", "^/sandbox/"]


def session_policy(connection: ASGIConnection[Any, Any, Any, Any]) -> SessionPolicy:
    settings = getattr(connection.app.state, "settings", None)
    return settings.session_policy() if settings is not None else SessionPolicy()


class WaybillAuthMiddleware(AbstractAuthenticationMiddleware):
    """Pages need a live session; `/api/` needs an API token and ignores cookies. The API's schema
    (`/schema`) takes either, so a client holding only a token can read what it may call."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        path = connection.url.path
        header = connection.headers.get("authorization", "")
        if path.startswith("/api/") or (path.startswith("/schema") and header):
            scheme, _, token = header.partition(" ")
            user = await user_for_token(token.strip()) if scheme.lower() == "bearer" and token else None
            if user is None:
                raise NotAuthorizedException(
                    "A valid API token is required: send 'Authorization: Bearer <token>'. "
                    "Create one on the My account page."
                )
            return AuthenticationResult(user=user, auth="token")
        session = connection.scope.get("session") or {}
        token = session.get(SESSION_TOKEN_KEY) if isinstance(session, dict) else None
        user = await session_user(str(token), session_policy(connection)) if token else None
        if user is None:
            raise NotAuthorizedException("Please log in.")
        return AuthenticationResult(user=user, auth="session")


def _user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    """The signed-in user; a request that reached a guard without one is refused, never let through."""
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException("Please log in.")
    return user


def require_operator(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    user = _user(connection)
    if not user.can_change_orders:
        raise PermissionDeniedException(
            f"Your role ({user.role.value}) can view orders but not change them. Ask an admin for operator access."
        )


def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    user = _user(connection)
    if not user.is_admin:
        raise PermissionDeniedException(f"Only admins can do this; your role is {user.role.value}.")
