"""A one-time local page where the laptop's browser does WebAuthn, for FIDO over SSH.

The console listens on 127.0.0.1:PORT only. The administrator forwards the port with the SSH
login (``ssh -L PORT:127.0.0.1:PORT host``; a running session can add it with ``~C`` then
``-L PORT:127.0.0.1:PORT``) and opens ``http://localhost:PORT/TOKEN`` on the laptop, whose
browser talks to the security key (or a passkey). ``http://localhost`` is a secure context, so
WebAuthn works without TLS, and the RP id ``localhost`` is the one the key was registered for
(at the keyboard too).

The page is single-use: a random 128-bit path, one answer, then the server stops. Requests with
another Host header than localhost/127.0.0.1 are refused (DNS rebinding); the answer is posted
as JSON by the page's own script (same origin). What comes back is only the WebAuthn response;
every check is the FIDO provider's.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
import threading
from typing import Any

from aiohttp import web

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>js7tui: {title}</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:3em auto}}</style></head>
<body><h1>js7tui</h1><p>{what}</p><p id="state">Touch your security key when it blinks.</p>
<button id="go">Use the security key</button>
<script>
const kind = {kind};
const options = {options};
const b64 = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')
    + '==='.slice((s.length + 3) % 4)), c => c.charCodeAt(0));
const enc = buf => btoa(String.fromCharCode(...new Uint8Array(buf)))
    .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
async function run() {{
  const o = structuredClone(options);
  o.challenge = b64(o.challenge);
  if (o.user) o.user.id = b64(o.user.id);
  for (const list of [o.allowCredentials, o.excludeCredentials])
    for (const c of list || []) c.id = b64(c.id);
  const state = document.getElementById('state');
  try {{
    const c = kind === 'create' ? await navigator.credentials.create({{publicKey: o}})
                                : await navigator.credentials.get({{publicKey: o}});
    const r = {{id: c.id, rawId: enc(c.rawId), type: c.type, response: {{
      clientDataJSON: enc(c.response.clientDataJSON)}}}};
    if (kind === 'create') r.response.attestationObject = enc(c.response.attestationObject);
    else {{
      r.response.authenticatorData = enc(c.response.authenticatorData);
      r.response.signature = enc(c.response.signature);
      if (c.response.userHandle) r.response.userHandle = enc(c.response.userHandle);
    }}
    const answer = await fetch(location.pathname + '/answer', {{method: 'POST',
      headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify(r)}});
    state.textContent = answer.ok ? 'Done: go back to the terminal.' : await answer.text();
  }} catch (e) {{ state.textContent = 'Not done: ' + e; }}
}}
document.getElementById('go').onclick = run;
run();
</script></body></html>
"""


class PageError(Exception):
    pass


class FidoPage:
    """Serve one WebAuthn ceremony for ``prompt`` (a FIDO provider prompt) on 127.0.0.1."""

    def __init__(self, prompt: dict[str, Any], *, create: bool = False, port: int = 0) -> None:
        self.prompt = prompt
        self.create = create
        self.port = port
        self.token = secrets.token_urlsafe(16)
        self._answer: dict[str, Any] | None = None
        self._done = threading.Event()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}/{self.token}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._serve, name="fido-page", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise PageError(f"the page cannot listen on 127.0.0.1:{self.port}: {self._error}")
        return self.url

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_get("/{token}", self._page)
        app.router.add_post("/{token}/answer", self._post)
        try:
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            loop.run_until_complete(site.start())
            sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
            if sockets:
                self.port = sockets[0].getsockname()[1]
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def _checked(self, request: web.Request) -> None:
        host = (request.host or "").rsplit(":", 1)[0]
        if host not in ("localhost", "127.0.0.1"):
            raise web.HTTPMisdirectedRequest(text="open the page as http://localhost:PORT/...")
        if not secrets.compare_digest(request.match_info["token"], self.token):
            raise web.HTTPNotFound()
        if self._done.is_set():
            raise web.HTTPGone(text="this page was used already")

    async def _page(self, request: web.Request) -> web.Response:
        self._checked(request)
        if request.host.rsplit(":", 1)[0] != "localhost":
            raise web.HTTPFound(self.url)  # the RP id is localhost: 127.0.0.1 cannot use it
        what = ("Register a security key for " if self.create else "Log in as ") + html.escape(
            str(self.prompt.get("account") or "the key's account")) + " at " + html.escape(
            str(self.prompt.get("service")))
        body = PAGE.format(title="security key", what=what,
                           kind=json.dumps("create" if self.create else "get"),
                           options=json.dumps(self.prompt["options"]).replace("</", "<\\/"))
        return web.Response(text=body, content_type="text/html",
                            headers={"Cache-Control": "no-store",
                                     "Content-Security-Policy": "default-src 'self' "
                                     "'unsafe-inline'; frame-ancestors 'none'",
                                     "Referrer-Policy": "no-referrer"})

    async def _post(self, request: web.Request) -> web.Response:
        self._checked(request)
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType()
        try:
            answer = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="not JSON") from None
        if not isinstance(answer, dict):
            raise web.HTTPBadRequest(text="not a WebAuthn response")
        self._answer = answer
        self._done.set()
        return web.Response(text="done")

    def wait(self, timeout: float | None = None, cancel: threading.Event | None = None
             ) -> dict[str, Any]:
        """The evidence for the provider, once the browser answered; PageError on timeout or
        cancel. The server stops either way."""
        try:
            step = 0.2
            waited = 0.0
            while not self._done.wait(step):
                waited += step
                if (cancel is not None and cancel.is_set()) or (timeout is not None
                                                                and waited >= timeout):
                    raise PageError("no answer from the browser")
            assert self._answer is not None
            return {"challenge": self.prompt["challenge"], "response": self._answer}
        finally:
            self.close()

    def close(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
