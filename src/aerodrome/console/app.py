"""The console's web app: its page and static files, sign-in and sign-out, and two JSON doors to
the plane's APIs (`/console/api/call` for MWAA, CloudWatch and CloudWatch Logs operations,
`/console/api/ext` for the Aerodrome API), both acting with the session's credentials.

Every POST needs the session's CSRF token in `X-Console-Csrf` and an `Origin` equal to the console's
own; the session cookie is HttpOnly, SameSite=Strict, Secure under TLS and scoped to /console."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from aerodrome import errors
from aerodrome.console.plane_calls import CallError, PlaneCalls
from aerodrome.console.sessions import SESSION_SECONDS, ConsoleSession
from aerodrome.console.sign_in import SignIn
from aerodrome.web import limits

log = logging.getLogger(__name__)

COOKIE = "aerodrome_console"
SSO_COOKIE = "aerodrome_sso"  # single sign-on's session cookie (api/sso.py), shared by host name
CSRF_HEADER = "x-console-csrf"
STATIC = Path(__file__).parent / "static"
MAX_BODY = 1024 * 1024
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def build_console_app(*, sign_in: SignIn, calls: PlaneCalls, secure: bool, plane_url: str,
                      web_scheme: str) -> Starlette:
    static_files = {p.name for p in STATIC.iterdir() if p.is_file()}

    async def page(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in static_files:
            return JSONResponse({"message": "Not found."}, status_code=404)
        return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    async def session_info(request: Request) -> Response:
        """Who is signed in, and the CSRF token their POSTs carry; a single sign-on session becomes a
        console session here."""
        session, new_id = current(request), None
        if session is None:
            try:
                new_id = await run_in_threadpool(sign_in.with_sso, request.cookies.get(SSO_COOKIE, ""))
            except errors.AccessDenied as exc:
                return error(403, "AccessDeniedException", str(exc))
            session = sign_in.sessions.get(new_id or "")
        if session is None:
            return JSONResponse({"signedIn": False, "sso": sign_in.sso is not None}, status_code=401,
                                headers=NO_STORE)
        reply = JSONResponse({"signedIn": True, "principal": session.principal, "person": session.person,
                              "csrf": session.csrf, "webScheme": web_scheme, "sso": sign_in.sso is not None},
                             headers=NO_STORE)
        if new_id is not None:
            set_cookie(reply, new_id)
        return reply

    async def key_sign_in(request: Request) -> Response:
        if not same_origin(request):
            return error(403, "AccessDeniedException", "The request did not come from the console's own page.")
        body = await json_body(request)
        key, secret = body.get("AccessKeyId"), body.get("SecretAccessKey")
        if not isinstance(key, str) or not isinstance(secret, str):
            return error(400, "ValidationException", "AccessKeyId and SecretAccessKey are needed.")
        try:
            session_id = await run_in_threadpool(sign_in.with_key, key.strip(), secret.strip())
        except (errors.Unauthenticated, errors.AccessDenied) as exc:
            return error(401, "UnrecognizedClientException", str(exc))
        reply = JSONResponse({"signedIn": True}, headers=NO_STORE)
        set_cookie(reply, session_id)
        return reply

    async def sign_out(request: Request) -> Response:
        session = checked(request)
        if isinstance(session, Response):
            return session
        sign_in.sessions.end(request.cookies.get(COOKIE, ""))
        reply = JSONResponse({"signedIn": False, "sso": sign_in.sso is not None}, headers=NO_STORE)
        reply.delete_cookie(COOKIE, path="/console", secure=secure, httponly=True, samesite="strict")
        return reply

    async def call(request: Request) -> Response:
        session = checked(request)
        if isinstance(session, Response):
            return session
        body = await json_body(request)
        params = body.get("Input") or {}
        if not isinstance(params, dict):
            return error(400, "ValidationException", "Input must be an object.")
        return await answer(calls.aws, session, str(body.get("Service", "")), str(body.get("Operation", "")), params)

    async def ext(request: Request) -> Response:
        session = checked(request)
        if isinstance(session, Response):
            return session
        body = await json_body(request)
        query, payload = body.get("Query"), body.get("Body")
        if not all(part is None or isinstance(part, dict) for part in (query, payload)):
            return error(400, "ValidationException", "Query and Body must be objects.")
        return await answer(lambda s: calls.ext(s, str(body.get("Method", "")), str(body.get("Path", "")),
                                                query=query, body=payload), session)

    async def sso_login(_: Request) -> Response:
        if sign_in.sso is None:
            return error(404, "ResourceNotFoundException", "Single sign-on is not configured.")
        return RedirectResponse(f"{plane_url.rstrip('/')}/sso/login?next=/console", status_code=303, headers=NO_STORE)

    def current(request: Request) -> ConsoleSession | None:
        session = sign_in.sessions.get(request.cookies.get(COOKIE, ""))
        sso_cookie = request.cookies.get(SSO_COOKIE, "")
        if session is not None and not sign_in.sso_still_valid(session.sso_session, sso_cookie):
            sign_in.sessions.end(request.cookies.get(COOKIE, ""))
            return None
        return session

    def checked(request: Request) -> ConsoleSession | Response:
        """The session of a state-changing request, or the refusal: no (or a forged) session, a
        foreign Origin, a missing or wrong CSRF token."""
        session = current(request)
        if session is None:
            return error(401, "UnrecognizedClientException", "Not signed in to the console (or the session ended).")
        if not same_origin(request):
            return error(403, "AccessDeniedException", "The request did not come from the console's own page.")
        if not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(), session.csrf.encode()):
            return error(403, "AccessDeniedException", "The request lacks the console session's CSRF token.")
        return session

    def set_cookie(response: Response, session_id: str) -> None:
        response.set_cookie(COOKIE, session_id, max_age=SESSION_SECONDS, path="/console", secure=secure,
                            httponly=True, samesite="strict")

    return Starlette(routes=[
        Route("/console", page), Route("/console/", page),
        Route("/console/static/{name}", static),
        Route("/console/api/session", session_info),
        Route("/console/api/sign-in", key_sign_in, methods=["POST"]),
        Route("/console/api/sign-out", sign_out, methods=["POST"]),
        Route("/console/api/call", call, methods=["POST"]),
        Route("/console/api/ext", ext, methods=["POST"]),
        Route("/console/sso", sso_login),
    ])


async def answer(work: Callable[..., dict], *args: object) -> Response:
    """`work(*args)`'s reply as JSON, off the event loop; a refusal as its AWS error."""
    try:
        return JSONResponse(await run_in_threadpool(work, *args), headers=NO_STORE)
    except CallError as exc:
        return error(exc.status, exc.code, str(exc))
    except Exception:
        log.exception("a console call failed")
        return error(502, "ServiceUnavailableException", "The control plane's API did not answer; try again.")


def same_origin(request: Request) -> bool:
    """The browser says the request comes from this console's own origin (browsers always send
    Origin on POST; a request without one is refused)."""
    origin = request.headers.get("origin", "")
    return bool(origin) and origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


async def json_body(request: Request) -> dict:
    try:
        data = json.loads(await limits.read_body(request, MAX_BODY) or b"{}")
    except (ValueError, UnicodeDecodeError, errors.TooLarge, errors.Invalid):
        return {}  # refused below as missing members
    return data if isinstance(data, dict) else {}


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=NO_STORE)
