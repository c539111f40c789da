"""The control plane's single sign-on pages (`/sso/...`): the one redirect URI registered with the
identity provider, and what an environment's web endpoint sends browsers to."""

from __future__ import annotations

import html
import logging

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from aerodrome import errors
from aerodrome.domain import web_paths
from aerodrome.services.sso import Person, SingleSignOn
from aerodrome.web.incoming import Incoming

log = logging.getLogger(__name__)

SESSION_COOKIE = "aerodrome_sso"
STATE_COOKIE = "aerodrome_sso_state"
PREFIX = "/sso/"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def build_sso_app(sso: SingleSignOn, *, secure: bool, session_ttl: int) -> Starlette:
    def enter(person: Person, environment: str | None, next_path: str) -> Response:
        if environment is None:  # a sign-in to the control plane itself: back to its page
            return RedirectResponse(next_path, status_code=303, headers=NO_STORE)
        try:
            return RedirectResponse(sso.enter(person, environment, next_path), status_code=303, headers=NO_STORE)
        except errors.AccessDenied as exc:
            return _page(403, "No access", str(exc))
        except errors.NotFound as exc:
            return _page(404, "No such environment", str(exc))

    async def login(request: Request) -> Response:
        environment = request.query_params.get("environment") or None
        next_path = web_paths.same_origin(request.query_params.get("next", "/")) or "/"
        person = sso.person(request.cookies.get(SESSION_COOKIE, ""))
        try:
            if person is not None and await run_in_threadpool(sso.fits, person, environment):
                return await run_in_threadpool(enter, person, environment, next_path)
            url, state = await run_in_threadpool(sso.begin, environment, next_path)
        except errors.NotFound as exc:
            return _page(404, "No such environment", str(exc))
        except errors.Temporary as exc:
            return _page(503, "The identity provider is unavailable", str(exc))
        response = RedirectResponse(url, status_code=303, headers=NO_STORE)
        response.set_cookie(STATE_COOKIE, state, max_age=600, path="/sso/", secure=secure, httponly=True,
                            samesite="lax")
        return response

    async def callback(request: Request) -> Response:
        query = request.query_params
        if "error" in query:
            detail = query.get("error_description") or query["error"]
            return _page(403, "Sign-in refused", f"The identity provider refused the sign-in: {detail}")
        try:
            session_id, person, pending = await run_in_threadpool(
                sso.finish, state=query.get("state", ""), browser_state=request.cookies.get(STATE_COOKIE, ""),
                code=query.get("code", ""))
        except errors.Unauthenticated as exc:
            return _page(401, "Sign-in failed", str(exc))
        except errors.AccessDenied as exc:
            return _page(403, "No access", str(exc))
        except errors.Temporary as exc:
            return _page(503, "The identity provider is unavailable", str(exc))
        log.info("single sign-on: %s signed in", person.name)
        response = await run_in_threadpool(enter, person, pending.environment, pending.next)
        response.delete_cookie(STATE_COOKIE, path="/sso/", secure=secure, httponly=True, samesite="lax")
        response.set_cookie(SESSION_COOKIE, session_id, max_age=session_ttl, path="/", secure=secure,
                            httponly=True, samesite="lax")
        return response

    async def logout(request: Request) -> Response:
        try:
            provider_logout = await run_in_threadpool(sso.end, request.cookies.get(SESSION_COOKIE, ""))
        except errors.Temporary:
            provider_logout = None  # the provider is down: Aerodrome's session ends all the same
        response: Response = RedirectResponse(provider_logout or "/sso/signed-out", status_code=303, headers=NO_STORE)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
        return response

    async def me(request: Request) -> Response:
        """Who the browser's session is (for the console): 401 when it has none."""
        person = sso.person(request.cookies.get(SESSION_COOKIE, ""))
        if person is None:
            return JSONResponse({"error": "Not signed in."}, status_code=401, headers=NO_STORE)
        return JSONResponse({"person": person.name, "groups": list(person.groups),
                             "principal": sso.principal_for(person)}, headers=NO_STORE)

    async def signed_out(_: Request) -> Response:
        return _page(200, "Signed out", "You are signed out of Aerodrome and of your identity provider.")

    return Starlette(routes=[Route("/sso/login", login), Route("/sso/callback", callback),
                             Route("/sso/logout", logout), Route("/sso/signed-out", signed_out),
                             Route("/sso/me", me)])


def is_sso(request: Incoming) -> bool:
    """The single sign-on pages are under /sso/ (outside the signed APIs)."""
    return request.path.startswith(PREFIX)


def _page(status: int, title: str, message: str) -> HTMLResponse:
    body = (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f'<body><h1>{html.escape(title)}</h1><p id="message">{html.escape(message)}</p></body></html>')
    return HTMLResponse(body, status_code=status, headers=NO_STORE)
