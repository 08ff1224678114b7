"""A small, real OpenID Connect provider for tests, in this process, on a loopback port.

Streamlit's `st.login` talks to it exactly as it would to Google or Okta: it reads the discovery
document, sends the browser to `/authorize` (authorization code flow, PKCE S256), exchanges
the code at `/token` with its client credentials, and checks the RS256-signed ID token against
`/jwks`. The person "signs in" by typing a configured username into a one-field form, so a
browser test drives the whole round trip with no account anywhere.

    users = {"alice": {"email": "alice@example.com", "name": "Alice"}}  # also "sub",
    # and "email_verified": False for a provider that lets people claim any address (None:
    # no such claim at all, as Microsoft Entra sends)
    client = Client("my-app", "its-secret", ("http://127.0.0.1:8501/oauth2callback",))
    with OIDCProvider(users, [client]) as provider:
        provider.metadata_url  # -> server_metadata_url in Streamlit's [auth] secrets

Only what the authorization code flow needs is implemented, but that part is strict: an
unknown client or an unregistered redirect_uri gets an error page (never a redirect), a code
works once, for its own client and redirect_uri, within a minute, and only with the PKCE
verifier its challenge was made from. `/userinfo` answers to the access token, and `/logout`
(the end_session_endpoint Streamlit's `st.logout` uses) sends the browser back only to a
registered address. `issued`, `logouts` and `refusals` let a test see what happened. Signing
and key handling use Authlib (`authlib.jose`, RS256; a new 2048-bit key per provider).
"""

from __future__ import annotations

import base64
import hmac
import html
import json
import re
import secrets
import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from authlib.deprecate import AuthlibDeprecationWarning

from liaobots_core.emulator.server import Startable

with warnings.catch_warnings():  # authlib.jose warns on import that joserfc will replace it
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.jose import JsonWebKey, jwt
    from authlib.oauth2.rfc7636 import create_s256_code_challenge
    from authlib.oidc.core.util import create_half_hash

CODE_SECONDS = 60  # how long an authorization code can be exchanged
TOKEN_SECONDS = 600  # how long ID and access tokens are valid
MAX_BODY = 64 * 1024
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 section 4.1
_SCOPE_CLAIMS = {"email": ("email", "email_verified"), "profile": ("name", "preferred_username")}


@dataclass(frozen=True)
class Client:
    """A relying party the provider knows: its credentials and where it may be sent back."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True)
class Issued:
    """Tokens handed out at `/token`, so a test can look for them where they must not be."""

    username: str
    client_id: str
    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    pkce_method: str | None  # "S256" when the code was bound to a PKCE challenge


@dataclass(frozen=True)
class _Grant:
    code: str
    client_id: str
    redirect_uri: str
    username: str
    scope: tuple[str, ...]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float


@dataclass(frozen=True)
class _AccessToken:
    username: str
    scope: tuple[str, ...]
    expires_at: float


class _OAuthError(Exception):
    """An OAuth error answer: `error` and `description` as RFC 6749 names them."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class OIDCProvider(Startable):
    """The provider: a threaded HTTP server on 127.0.0.1; `start()`/`stop()` or `with`."""

    def __init__(
        self,
        users: Mapping[str, Mapping[str, Any]],
        clients: Iterable[Client],
        *,
        host: str = "127.0.0.1",
    ) -> None:
        self.users = {name: dict(claims) for name, claims in users.items()}
        self.clients = {client.client_id: client for client in clients}
        self.issued: list[Issued] = []
        self.logouts: list[str] = []  # usernames signed out at the end-session endpoint
        self.refusals: list[str] = []  # why requests were refused, for a failing test's message
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._used_codes: dict[str, list[str]] = {}  # code -> access tokens issued with it
        self._access_tokens: dict[str, _AccessToken] = {}
        self._key = JsonWebKey.generate_key(
            "RSA", 2048, is_private=True, options={"kid": secrets.token_hex(8)}
        )
        self._server = ThreadingHTTPServer((host, 0), _Handler)
        self._server.daemon_threads = True
        self._server.provider = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def issuer(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host}:{self.port}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self) -> OIDCProvider:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="oidc-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=30)
            self._thread = None
        self._server.server_close()

    # --- what the endpoints serve ---------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        issuer = self.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "end_session_endpoint": f"{issuer}/logout",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce"]
            + [claim for claims in _SCOPE_CLAIMS.values() for claim in claims],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        public = self._key.as_dict(is_private=False, use="sig", alg="RS256")
        return {"keys": [public]}

    def sub(self, username: str) -> str:
        """The stable subject of a user: theirs if configured, else derived from the name."""
        return str(self.users[username].get("sub") or "sub-" + username)

    def claims(self, username: str, scope: Iterable[str]) -> dict[str, Any]:
        """What the granted scopes reveal about a user (ID token and userinfo alike)."""
        user = self.users[username]
        claims: dict[str, Any] = {"sub": self.sub(username)}
        granted = set(scope)
        if "email" in granted and user.get("email"):
            claims["email"] = user["email"]
            if user.get("email_verified", True) is not None:  # None: the claim is not sent
                claims["email_verified"] = bool(user.get("email_verified", True))
        if "profile" in granted:
            claims["name"] = user.get("name") or username
            claims["preferred_username"] = username
        return claims

    # --- /authorize -------------------------------------------------------------------------

    def check_authorization(self, params: Mapping[str, str]) -> tuple[Client, str]:
        """The client and redirect_uri of a request, if both are registered; else ValueError.

        These two are checked before anything else, because an error about anything else is
        sent to the redirect_uri, and that may only happen to a registered one.
        """
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise ValueError("unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise ValueError("redirect_uri is not registered for this client")
        return client, redirect_uri

    def check_request(self, params: Mapping[str, str]) -> None:
        """Everything else about an authorization request; raises _OAuthError."""
        if params.get("response_type") != "code":
            raise _OAuthError("unsupported_response_type", "only response_type=code")
        if "openid" not in params.get("scope", "").split():
            raise _OAuthError("invalid_scope", "scope must include openid")
        if not params.get("state"):
            raise _OAuthError("invalid_request", "state is required")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if method and not challenge:
            raise _OAuthError("invalid_request", "code_challenge_method without code_challenge")
        if challenge and method != "S256":
            raise _OAuthError("invalid_request", "only code_challenge_method=S256")
        if challenge and not _VERIFIER.fullmatch(challenge):
            raise _OAuthError("invalid_request", "malformed code_challenge")
        if params.get("prompt") == "none":
            raise _OAuthError("login_required", "the user must sign in")

    def grant(self, params: Mapping[str, str], username: str) -> str:
        """A new authorization code for `username`, bound to everything in the request."""
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Grant(
                code=code,
                client_id=params["client_id"],
                redirect_uri=params["redirect_uri"],
                username=username,
                scope=tuple(params.get("scope", "").split()),
                nonce=params.get("nonce") or None,
                code_challenge=params.get("code_challenge") or None,
                code_challenge_method=params.get("code_challenge_method") or None,
                expires_at=time.time() + CODE_SECONDS,
            )
        return code

    # --- /token ------------------------------------------------------------------------------

    def authenticate_client(self, authorization: str | None, form: Mapping[str, str]) -> Client:
        """client_secret_basic or client_secret_post, exactly one of them."""
        basic = authorization is not None and authorization.lower().startswith("basic ")
        if basic and "client_secret" in form:
            raise _OAuthError("invalid_request", "more than one client authentication", 400)
        if basic:
            assert authorization is not None
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
                raw_id, raw_secret = decoded.split(":", 1)
            except ValueError:
                raise _OAuthError("invalid_client", "malformed Basic credentials", 401) from None
            client_id, client_secret = unquote(raw_id), unquote(raw_secret)  # RFC 6749 2.3.1
        else:
            client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        client = self.clients.get(client_id)
        if client is None or not hmac.compare_digest(
            client.client_secret.encode(), client_secret.encode()
        ):
            raise _OAuthError("invalid_client", "client authentication failed", 401)
        if form.get("client_id", client_id) != client_id:
            raise _OAuthError("invalid_client", "client_id differs from the credentials", 401)
        return client

    def exchange(self, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
        """Trade a code for tokens, once."""
        if form.get("grant_type") != "authorization_code":
            raise _OAuthError("unsupported_grant_type", "only authorization_code")
        code = form.get("code", "")
        with self._lock:
            grant = self._codes.pop(code, None)
            if grant is None and code in self._used_codes:
                # A replayed code: refuse, and revoke what it was exchanged for (RFC 6749 4.1.2).
                for token in self._used_codes[code]:
                    self._access_tokens.pop(token, None)
                raise _OAuthError("invalid_grant", "the code was already used")
            if grant is not None:
                self._used_codes[code] = []
        if grant is None:
            raise _OAuthError("invalid_grant", "unknown code")
        if grant.expires_at < time.time():
            raise _OAuthError("invalid_grant", "the code has expired")
        if grant.client_id != client.client_id:
            raise _OAuthError("invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _OAuthError("invalid_grant", "redirect_uri differs from the authorization's")
        verifier = form.get("code_verifier")
        if grant.code_challenge is not None:
            if not verifier or not _VERIFIER.fullmatch(verifier):
                raise _OAuthError("invalid_grant", "a valid code_verifier is required")
            expected = create_s256_code_challenge(verifier)
            if not hmac.compare_digest(expected.encode(), grant.code_challenge.encode()):
                raise _OAuthError("invalid_grant", "code_verifier does not match the challenge")
        elif verifier:
            raise _OAuthError("invalid_grant", "code_verifier without a code_challenge")

        now = int(time.time())
        access_token = secrets.token_urlsafe(32)
        id_token = self.sign(
            {
                "iss": self.issuer,
                "aud": client.client_id,
                "iat": now,
                "exp": now + TOKEN_SECONDS,
                "auth_time": now,
                "at_hash": create_half_hash(access_token, "RS256").decode(),
                **({"nonce": grant.nonce} if grant.nonce else {}),
                **self.claims(grant.username, grant.scope),
            }
        )
        with self._lock:
            self._access_tokens[access_token] = _AccessToken(
                grant.username, grant.scope, now + TOKEN_SECONDS
            )
            self._used_codes[code].append(access_token)
            self.issued.append(
                Issued(
                    grant.username,
                    client.client_id,
                    id_token,
                    access_token,
                    grant.code_challenge_method if grant.code_challenge else None,
                )
            )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
            "scope": " ".join(grant.scope),
            "id_token": id_token,
        }

    def sign(self, claims: Mapping[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self._key.as_dict()["kid"]}
        token = jwt.encode(header, dict(claims), self._key)
        return token.decode() if isinstance(token, bytes) else str(token)

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of an ID token this provider signed (expired or not); else ValueError."""
        try:
            return dict(jwt.decode(token, self._key))
        except Exception as error:
            raise ValueError(f"not a token of this provider: {error}") from None

    # --- /userinfo ---------------------------------------------------------------------------

    def userinfo(self, authorization: str | None) -> dict[str, Any]:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise _OAuthError("invalid_request", "a Bearer access token is required", 401)
        with self._lock:
            token = self._access_tokens.get(authorization[7:].strip())
        if token is None or token.expires_at < time.time():
            raise _OAuthError("invalid_token", "unknown or expired access token", 401)
        return self.claims(token.username, token.scope)

    # --- /logout (RP-initiated logout) ------------------------------------------------------

    def end_session(self, params: Mapping[str, str]) -> str | None:
        """Where to send the browser after signing out; None for the provider's own page."""
        client_id = params.get("client_id")
        username = None
        if params.get("id_token_hint"):
            claims = self.verify(params["id_token_hint"])
            audience = claims.get("aud")
            client_id = client_id or (audience if isinstance(audience, str) else None)
            if client_id != audience:
                raise ValueError("id_token_hint was issued to another client")
            username = next((u for u in self.users if self.sub(u) == claims.get("sub")), None)
        target = params.get("post_logout_redirect_uri")
        if target:
            client = self.clients.get(client_id or "")
            if client is None or target not in client.redirect_uris:
                raise ValueError("post_logout_redirect_uri is not registered for this client")
        with self._lock:
            self.logouts.append(username or "")
        if target and params.get("state"):
            return _with_params(target, {"state": params["state"]})
        return target

    def refuse(self, reason: str) -> None:
        with self._lock:
            self.refusals.append(reason)


def _with_params(uri: str, params: Mapping[str, str]) -> str:
    """`uri` with `params` added to its query (what it has already is kept)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


_FORM_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test sign-in</title></head>
<body>
<h1>Test identity provider</h1>
{body}
</body></html>
"""


def _login_form(params: Mapping[str, str], problem: str = "") -> str:
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">'
        for name in _FORM_FIELDS
        if params.get(name)
    )
    note = f'<p role="alert">{html.escape(problem)}</p>' if problem else ""
    return _PAGE.format(
        body=f"""{note}
<form method="post" action="/authorize">
{hidden}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" autofocus required>
<button type="submit">Continue</button>
</form>"""
    )


class _Handler(BaseHTTPRequestHandler):
    server_version = "TestOIDC/1.0"

    @property
    def provider(self) -> OIDCProvider:
        return self.server.provider  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no stderr per request
        return

    # --- plumbing ---

    def _path_and_query(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise _OAuthError("invalid_request", "request body too large", 413)
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        if kind != "application/x-www-form-urlencoded":
            raise _OAuthError("invalid_request", "the body must be form-encoded")
        return dict(parse_qsl(body, keep_blank_values=True))

    def _send(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Pragma", "no-cache")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", headers)

    def _html(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8")

    def _redirect(self, location: str) -> None:
        self._send(HTTPStatus.FOUND, b"", "text/plain", {"Location": location})

    def _oauth_error(self, error: _OAuthError) -> None:
        self.provider.refuse(f"{self.command} {urlsplit(self.path).path}: {error}")
        headers = {}
        if error.status == 401:
            scheme = "Bearer" if urlsplit(self.path).path == "/userinfo" else "Basic"
            headers["WWW-Authenticate"] = f'{scheme} error="{error.error}"'
        self._json(
            error.status,
            {"error": error.error, "error_description": error.description},
            headers,
        )

    def _error_page(self, status: int, reason: str) -> None:
        self.provider.refuse(f"{self.command} {urlsplit(self.path).path}: {reason}")
        self._html(status, _PAGE.format(body=f'<p role="alert">{html.escape(reason)}</p>'))

    # --- routes ---

    def do_GET(self) -> None:
        path, query = self._path_and_query()
        if path == "/.well-known/openid-configuration":
            self._json(HTTPStatus.OK, self.provider.metadata())
        elif path == "/jwks":
            self._json(HTTPStatus.OK, self.provider.jwks())
        elif path == "/authorize":
            self._authorize(query, submitted=False)
        elif path == "/userinfo":
            self._userinfo()
        elif path == "/logout":
            self._logout(query)
        else:
            self._html(HTTPStatus.NOT_FOUND, _PAGE.format(body="<p>Not found.</p>"))

    def do_POST(self) -> None:
        path, _ = self._path_and_query()
        try:
            if path == "/authorize":
                self._authorize(self._form(), submitted=True)
            elif path == "/token":
                self._token()
            elif path == "/userinfo":
                self._userinfo()
            else:
                self._html(HTTPStatus.NOT_FOUND, _PAGE.format(body="<p>Not found.</p>"))
        except _OAuthError as error:
            self._oauth_error(error)

    def _authorize(self, params: dict[str, str], *, submitted: bool) -> None:
        try:
            _, redirect_uri = self.provider.check_authorization(params)
        except ValueError as error:  # never redirect to an address nobody registered
            self._error_page(HTTPStatus.BAD_REQUEST, f"Invalid request: {error}.")
            return
        try:
            self.provider.check_request(params)
        except _OAuthError as error:
            self.provider.refuse(f"{self.command} /authorize: {error}")
            reply = {"error": error.error, "error_description": error.description}
            if params.get("state"):
                reply["state"] = params["state"]
            self._redirect(_with_params(redirect_uri, reply))
            return
        if not submitted:
            self._html(HTTPStatus.OK, _login_form(params))
            return
        username = params.get("username", "").strip()
        if username not in self.provider.users:
            self.provider.refuse(f"POST /authorize: unknown user {username!r}")
            self._html(HTTPStatus.OK, _login_form(params, "Unknown user."))
            return
        code = self.provider.grant(params, username)
        self._redirect(_with_params(redirect_uri, {"code": code, "state": params["state"]}))

    def _token(self) -> None:
        form = self._form()
        client = self.provider.authenticate_client(self.headers.get("Authorization"), form)
        self._json(HTTPStatus.OK, self.provider.exchange(client, form))

    def _userinfo(self) -> None:
        try:
            self._json(HTTPStatus.OK, self.provider.userinfo(self.headers.get("Authorization")))
        except _OAuthError as error:
            self._oauth_error(error)

    def _logout(self, params: dict[str, str]) -> None:
        try:
            target = self.provider.end_session(params)
        except ValueError as error:
            self._error_page(HTTPStatus.BAD_REQUEST, f"Invalid logout request: {error}.")
            return
        if target:
            self._redirect(target)
        else:
            self._html(HTTPStatus.OK, _PAGE.format(body="<p>You are signed out.</p>"))
