"""One environment's web endpoint as an ASGI app: MWAA's `/aws_mwaa/...` paths (also under
`/pluginsv2/` as on Airflow 3) and a reverse proxy to the environment's api-server/webserver."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from aerodrome import errors
from aerodrome.domain import web_paths
from aerodrome.services.access import AccessService
from aerodrome.services.sso import SingleSignOn
from aerodrome.web import limits

log = logging.getLogger(__name__)

FAIL_HEADER = "x-aerodrome-fail-on-error"  # opt in to HTTP 400 when the CLI command fails
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}

SSO_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Signing in to Airflow</title></head>
<body><p id="note">Signing in to Airflow…</p>
<form id="login" method="post" action="login"><input type="hidden" name="token" id="token">
<input type="hidden" name="next" id="next" value="/"></form>
<script>
  var token = window.location.hash.slice(1);
  var next = new URLSearchParams(window.location.search).get("next");
  history.replaceState(null, "", window.location.pathname);
  if (next) { document.getElementById("next").value = next; }
  if (token) { document.getElementById("token").value = token; document.getElementById("login").submit(); }
  else { document.getElementById("note").textContent =
           "No login token in the address; create one with CreateWebLoginToken."; }
</script></body></html>
"""


# Airflow's own sign-in and sign-out pages, which single sign-on takes over: Airflow 3's
# SimpleAuthManager (and the API's redirects to it), Airflow 2's FAB.
LOGIN_PATHS = frozenset({"/auth/login", "/auth/login/", "/api/v2/auth/login", "/login", "/login/"})
LOGOUT_PATHS = frozenset({"/api/v2/auth/logout", "/auth/logout", "/logout", "/logout/"})
SESSION_COOKIES = ("_token", "session")  # Airflow 3's JWT, Airflow 2's FAB session


def build_gateway_app(name: str, *, access: AccessService, secure: bool,
                      sign_on: SingleSignOn | None = None) -> Starlette:
    client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0), follow_redirects=False)

    async def cli(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _text(401, "Authorization: Bearer <CliToken> is required; create a token with CreateCliToken.")
        try:
            command_line = (await limits.read_body(request, limits.CLI_MAX_BYTES)).decode(errors="replace")
            answer = await run_in_threadpool(access.run_cli, name, token.strip(), command_line)
        except errors.Unauthenticated as exc:
            return _text(403, str(exc))
        except errors.TooLarge as exc:
            return _text(413, str(exc))
        except errors.Invalid as exc:
            return _text(400, str(exc))
        except (errors.NotFound, errors.Temporary) as exc:
            return _text(503, str(exc))
        failed = answer["exit_code"] != 0 and request.headers.get(FAIL_HEADER, "").lower() in ("1", "true")
        return JSONResponse(answer, status_code=400 if failed else 200)

    async def sso(_: Request) -> Response:
        return HTMLResponse(SSO_PAGE, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    async def login(request: Request) -> Response:
        try:
            body = await limits.read_body(request, limits.LOGIN_MAX_BYTES)
            form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        except errors.TooLarge as exc:
            return _text(413, str(exc))
        token = form.get("token", "")
        try:
            session = await run_in_threadpool(access.web_login, name, token)
        except errors.Unauthenticated as exc:
            return _text(403, str(exc))
        except (errors.Invalid, errors.AccessDenied) as exc:
            return _text(403, str(exc))
        except errors.Temporary as exc:
            return _text(503, str(exc))
        target = web_paths.same_origin(form.get("next", ""))
        if target is not None:
            response: Response = RedirectResponse(target, status_code=303)
        else:
            response = JSONResponse({"role": session.role})
        response.set_cookie(session.cookie_name, session.cookie, max_age=session.max_age, path="/",
                            secure=secure, httponly=True, samesite="lax")
        return response

    def single_sign_on(request: Request) -> Response | None:
        """With single sign-on on: Airflow's sign-in page, or a page asked for without a session,
        goes through the identity provider; Airflow's sign-out ends that session too."""
        if sign_on is None or request.method != "GET":
            return None
        path = request.url.path
        if path in LOGOUT_PATHS:
            response: Response = RedirectResponse(sign_on.logout_url(name), status_code=303)
            for cookie in SESSION_COOKIES:
                response.delete_cookie(cookie, path="/", secure=secure, httponly=True, samesite="lax")
            return response
        if path in LOGIN_PATHS:
            next_path = web_paths.same_origin(request.query_params.get("next", "/")) or "/"
            return RedirectResponse(sign_on.login_url(name, next_path), status_code=303)
        wants_page = "text/html" in request.headers.get("accept", "")
        if wants_page and not any(cookie in request.cookies for cookie in SESSION_COOKIES):
            here = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(sign_on.login_url(name, web_paths.same_origin(here) or "/"), status_code=303)
        return None

    async def proxy(request: Request) -> Response:
        redirect = single_sign_on(request)
        if redirect is not None:
            return redirect
        try:
            target = await run_in_threadpool(access.awake_target, name, "web request")
        except errors.Temporary as exc:  # still waking after the wake timeout
            return _text(503, str(exc))
        url = httpx.URL(f"{target.api_base}{request.url.path}", query=request.url.query.encode())
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        headers.append(("x-forwarded-proto", "https" if secure else "http"))
        try:
            limits.check_declared(request, limits.PROXY_MAX_BYTES)
            upstream = client.build_request(request.method, url, headers=headers,
                                            content=limits.capped_stream(request, limits.PROXY_MAX_BYTES))
            reply = await client.send(upstream, stream=True)
        except errors.Invalid as exc:  # TooLarge, or an unreadable Content-Length
            return _text(413 if isinstance(exc, errors.TooLarge) else 400, str(exc))
        except httpx.TransportError:
            return _text(502, f"The Airflow web server of {name} does not answer; is the environment AVAILABLE?")
        out = [(k, v) for k, v in reply.headers.multi_items() if k.lower() not in HOP_BY_HOP]
        response = StreamingResponse(reply.aiter_raw(), status_code=reply.status_code,
                                     background=BackgroundTask(reply.aclose))
        response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out]
        return response

    routes = []
    for prefix in ("/aws_mwaa", "/pluginsv2/aws_mwaa"):
        routes += [Route(f"{prefix}/cli", cli, methods=["POST"]),
                   Route(f"{prefix}/aws-console-sso", sso, methods=["GET"]),
                   Route(f"{prefix}/login", login, methods=["POST"])]
    routes.append(Route("/{path:path}", proxy, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]))
    app = Starlette(routes=routes)
    app.state.http = client  # closed by the server that runs the app
    return app


def _text(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status_code=status, media_type="application/json")
