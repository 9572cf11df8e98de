"""The Litestar application factory."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from asyncpg.exceptions import CharacterNotInRepertoireError
from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.middleware import DefineMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from connectors import registry
from jobs.http import close_http_client
from models import db
from models.accounts import credentials
from models.core.clock import now
from models.core.errors import Conflict, DomainError, FieldErrors, NotFound
from web.accounts.two_step import require_admin_second_factor
from web.auth import PUBLIC_PATHS, WaybillAuthMiddleware
from web.formatting import FILTERS
from web.input_bounds import BoundedRequest, bounded_path_ids
from web.pages import is_htmx
from web.security_headers import add_security_headers
from web.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SESSION_COOKIE = "waybill_session"
_PROCESS_KEY = secrets.token_urlsafe(48)
log = logging.getLogger(__name__)


def _key(secret: str, purpose: str, size: int) -> bytes:
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()[:size]


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or (path.startswith("/schema") and "authorization" in request.headers)


def _error_page(
    request: Request, status: int, title: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    if _wants_json(request):
        return Response({"status_code": status, "detail": message}, status_code=status, headers=headers)
    if is_htmx(request):
        return Template(
            template_name="_flash.html",
            context={"level": "error", "message": message},
            status_code=status,
            headers={**(headers or {}), "HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    # Exception handlers run synchronously, so the page gets no database-backed context.
    user = request.scope.get("user")
    return Template(
        template_name="error.html",
        context={"title": title, "message": message, "user": user},
        status_code=status,
        headers=headers,
    )


def handle_not_authorized(request: Request, exc: NotAuthorizedException) -> Response:
    if _wants_json(request):
        return Response({"status_code": 401, "detail": exc.detail}, status_code=401)
    return _to_login(request)


def _to_login(request: Request) -> Response:
    """To the log-in page, coming back to this page afterwards (a form's address would answer 405)."""
    if is_htmx(request):
        return Response("", status_code=401, headers={"HX-Redirect": "/login"})
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET" or target in ("/", "/login"):
        return Redirect("/login")
    return Redirect("/login?" + urlencode({"next": target}))


def handle_forbidden(request: Request, exc: PermissionDeniedException) -> Response:
    message = exc.detail or "You are not allowed to do this."
    if "csrf" in message.lower():
        message = "This form has expired or did not come from Waybill. Reload the page and try again."
    return _error_page(request, 403, "Not allowed", message)


def handle_not_found(request: Request, exc: Exception) -> Response:
    anonymous = "user" not in request.scope and SESSION_COOKIE not in request.cookies
    if anonymous and not _wants_json(request) and not request.url.path.startswith("/static/"):
        # No route matched below a known prefix, so no log-in ran: without a session, the log-in page.
        return _to_login(request)
    message = "There is nothing at this address."
    if isinstance(exc, NotFound):
        message = exc.message
    elif isinstance(exc, NotFoundException) and exc.detail and exc.detail != "Not Found":
        message = exc.detail  # a handler's own explanation, e.g. "Order 42 does not exist."
    return _error_page(request, 404, "Not found", message)


def handle_conflict(request: Request, exc: Conflict) -> Response:
    return _error_page(request, 409, "Changed by someone else", exc.message)


def handle_domain_error(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, FieldErrors) and _wants_json(request):
        # The API names what is wrong field by field, as the forms do.
        return Response({"status_code": 422, "detail": exc.message, "errors": exc.errors}, status_code=422)
    return _error_page(request, 422, "Not possible", exc.message)


def handle_validation(request: Request, exc: ValidationException) -> Response:
    details = exc.extra if isinstance(exc.extra, list) else []
    fields = ", ".join(str(d.get("key", "")) for d in details if isinstance(d, dict) and d.get("key"))
    message = "Some values were not understood" + (f": {fields}." if fields else ".")
    return _error_page(request, 400, "Bad request", message)


def handle_unstorable_text(request: Request, exc: Exception) -> Response:
    """PostgreSQL stores no NUL character in text; the transaction was rolled back, so nothing changed."""
    message = "Text with a NUL character (\\0) cannot be stored, so nothing was saved. Remove it and try again."
    return _error_page(request, 422, "Not possible", message)


def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(
        request,
        500,
        "Something went wrong",
        "Waybill hit an unexpected error and nothing was changed. The error has been logged; "
        "try again, and if it persists, tell your administrator what you were doing.",
    )


def handle_http(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 413:
        message = "What you sent is larger than this form accepts. Nothing was saved: send a smaller file."
        return _error_page(request, 413, "Too large", message)
    # Keep what the error says in its headers, e.g. the `Allow` of a 405.
    return _error_page(request, exc.status_code, "Error", exc.detail, dict(exc.headers or {}))


def create_app(
    settings: Settings | None = None,
    *,
    extra_route_handlers: Sequence[Any] = (),
    lifespan_hooks: Sequence[Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]] = (),
    debug: bool = False,
) -> Litestar:
    """Build the app. The database in `settings` is bound when the app starts."""
    from web.routes import ROUTE_HANDLERS

    registry.install()
    settings = settings or Settings.from_env()
    # Without a key (development only: `serve` refuses to start without one) a key of this process.
    secret = settings.secret_key or _PROCESS_KEY
    credentials.configure(secret, settings.secret_key_previous)

    @contextlib.asynccontextmanager
    async def database_lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.database_url:
            db.bind(db.engine_for(settings.database_url))
        await db.start_pool()
        try:
            yield
        finally:
            await close_http_client()
            await db.close_pool()

    sandbox_routers = []
    sandboxes = {}
    if settings.sandboxes:
        from connectors.sandbox.app import build_sandboxes

        sandboxes = settings.extra.get("sandboxes") or build_sandboxes()
        sandbox_routers = [sandbox.router() for sandbox in sandboxes.values()]

    session_config = CookieBackendConfig(
        secret=_key(secret, "session", 32),
        key=SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=60 * 60 * 12,
    )
    # OPTIONS too: nothing outside the public paths answers before authentication.
    auth_middleware = DefineMiddleware(WaybillAuthMiddleware, exclude=PUBLIC_PATHS, exclude_http_methods=())

    def configure_jinja(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters.update(FILTERS)
        # Templates change with a release, not while serving: no file check on every include.
        engine.engine.auto_reload = debug
        engine.engine.globals["static_version"] = "5"
        engine.engine.globals["now"] = now  # e.g. today's date as the default and limit of date fields

    app = Litestar(
        route_handlers=[
            *ROUTE_HANDLERS,
            create_static_files_router(path="/static", directories=[ROOT / "static"], name="static"),
            *sandbox_routers,
            *extra_route_handlers,
        ],
        middleware=[session_config.middleware, auth_middleware],
        csrf_config=CSRFConfig(
            secret=_key(secret, "csrf", 32).hex(),
            cookie_name="waybill_csrf",
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            cookie_httponly=True,  # pages carry the token (form field, htmx header); no script reads the cookie
            header_name="x-csrftoken",
            exclude=["^/api/", "^/sandbox/"],
        ),
        template_config=TemplateConfig(
            directory=ROOT / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=configure_jinja,
        ),
        plugins=[HTMXPlugin()],
        openapi_config=OpenAPIConfig(
            title="Waybill API",
            version="1",
            description="Orders, their lines, shipments, review issues and audit events. "
            "Authenticate with `Authorization: Bearer <token>` (create tokens on the My account page).",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        exception_handlers={
            NotAuthorizedException: handle_not_authorized,
            PermissionDeniedException: handle_forbidden,
            NotFoundException: handle_not_found,
            NotFound: handle_not_found,
            Conflict: handle_conflict,
            DomainError: handle_domain_error,
            ValidationException: handle_validation,
            HTTPException: handle_http,
            CharacterNotInRepertoireError: handle_unstorable_text,
            Exception: handle_unexpected,
        },
        lifespan=[database_lifespan, *lifespan_hooks],
        # Ids no row can have and unreadable JSON bodies: 400 before any handler runs.
        guards=[bounded_path_ids],
        request_class=BoundedRequest,
        before_send=[add_security_headers],
        # WAYBILL_REQUIRE_ADMIN_TOTP: an admin without two-step verification sets it up before anything else.
        before_request=require_admin_second_factor,
        debug=debug,
    )
    app.state.settings = settings
    app.state.sandboxes = sandboxes
    return app
