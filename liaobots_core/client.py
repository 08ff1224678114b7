"""The Liaobots HTTP client: one pooled session, explicit timeouts, honest errors.

`stream_chat` returns a `ChatStream`, an iterator that yields text the moment bytes arrive:
each read takes whatever the socket has, never waiting to fill a buffer or a whole chunk
(a chunked reply's framing is decoded by `chunked.py`, a close-delimited one read with
`read1`), so no reply is held back the way `iter_content` holds a close-delimited one.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from time import time
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3.exceptions

from .chunked import ChunkedBody, IncompleteBody
from .errors import (
    AuthError,
    ConfigurationError,
    ConnectionFailedError,
    GuestRefusedError,
    HumanCheckError,
    InsufficientBalanceError,
    LiaobotsError,
    MissingAuthCodeError,
    ProtocolError,
    RateLimitError,
    StreamTimeoutError,
    UnknownModelError,
    UpstreamError,
    error_for_status,
)
from .framing import (
    HtmlSniffer,
    JsonTooDeep,
    ReplyDecoder,
    decoder_for,
    is_event_stream,
    is_html,
    parse_json,
)
from .history import FittedHistory, fit_history, normalize_messages
from .models import BUILTIN_MODELS, DEFAULT_MODEL_ID, Model, find_model, models_from_wire

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://liaobots.com"
AUTH_CODE_ENV = "LIAOBOTS_AUTH_CODE"
BASE_URL_ENV = "LIAOBOTS_BASE_URL"
READ_SIZE = 64 * 1024
ANSWER_MAX_BYTES = 4 * 1024 * 1024  # a model list or an account answer; far beyond real ones
RETRY_STATUSES = frozenset({502, 503, 504})
REFUSED_STATUSES = frozenset({401, 403})  # a code missing, wrong or expired
GUEST_LOGIN_PATH = "/recaptcha/api/login"
# The `token` later public clients sent: the service's own page posted this fixed placeholder
# in place of a reCAPTCHA answer, and the service took it. No real reCAPTCHA is solved here.
GUEST_TOKEN = "abcdefghijklmnopqrst"
# Statuses that say the login body was not understood: then the other body is sent.
LOGIN_BODY_NOT_UNDERSTOOD = frozenset({400, 405, 415, 422})
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)


@dataclass(frozen=True)
class UserInfo:
    """What `/api/user` says of an auth code (the code itself is never kept here)."""

    balance: float | None
    details: Mapping[str, Any] = field(default_factory=dict, repr=False)


class LiaobotsClient:
    """A client for one Liaobots service and one auth code.

    `timeout` is the longest silence allowed while waiting for bytes; `connect_timeout` is
    how long to wait for the TCP/TLS connection. `max_retries` applies only before a reply
    starts, so no text is ever sent twice.

    With `guest=True` and no code, the first request signs in as a guest (login, then
    `/api/user` with an empty code); the guest code and the session's cookies are this
    client's alone. A code refused (401/403) before a reply starts is replaced once by a
    fresh guest sign-in, and the request is sent again.
    """

    def __init__(
        self,
        auth_code: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        *,
        connect_timeout: float = 10.0,
        retry_backoff: float = 0.5,
        max_retry_after: float = 5.0,
        session: requests.Session | None = None,
        guest: bool = False,
    ) -> None:
        if auth_code is None:
            auth_code = os.environ.get(AUTH_CODE_ENV)
        self._auth_code = (auth_code or "").strip() or None
        self.base_url = clean_base_url(base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
        if timeout <= 0 or connect_timeout <= 0:
            raise ConfigurationError("Timeouts must be positive numbers of seconds.")
        if max_retries < 0:
            raise ConfigurationError("max_retries cannot be negative.")
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.max_retries = int(max_retries)
        self.retry_backoff = float(retry_backoff)
        self.max_retry_after = float(max_retry_after)
        self._owns_session = session is None
        self._session = session or requests.Session()
        self._server_models: tuple[Model, ...] | None = None
        self.guest = bool(guest)
        self._guest_code: str | None = None
        self._guest_lock = threading.Lock()  # one sign-in at a time, however many requests

    @property
    def has_auth_code(self) -> bool:
        """Whether a code is at hand (given, or from a guest sign-in already made)."""
        return self._current_code() is not None

    @property
    def signed_in_as_guest(self) -> bool:
        return self._guest_code is not None

    def __repr__(self) -> str:
        code = "guest" if self._guest_code else "set" if self._auth_code else "missing"
        guest = " guest=on" if self.guest else ""
        return f"<LiaobotsClient base_url={self.base_url!r} auth_code={code}{guest}>"

    def __enter__(self) -> LiaobotsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections (only when this client created the session)."""
        if self._owns_session:
            self._session.close()

    # -- chat -------------------------------------------------------------------------------

    def stream_chat(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | Model = DEFAULT_MODEL_ID,
        system_prompt: str | None = None,
        **extra: Any,
    ) -> ChatStream:
        """Start a reply; iterate the result for its text as it arrives.

        Older turns are left out when the conversation exceeds the model's `maxLength`;
        `stream.history` says what was dropped. Extra keyword arguments (such as
        `temperature`) are added to the request body.
        """
        chosen = model if isinstance(model, Model) else self.resolve_model(model)
        conversation = normalize_messages(messages, system_prompt)
        history = fit_history(conversation.messages, chosen.max_length, conversation.system_prompt)
        # What every generation of the service reads: the earlier the whole `model` object,
        # the later `models` (id and provider) and `search`. Each ignores the other's keys.
        body = {
            "conversationId": str(uuid.uuid4()),
            "model": chosen.to_wire(),
            "models": [chosen.to_wire_choice()],
            "search": "false",
            "messages": history.messages,
            "key": "",
            "prompt": conversation.system_prompt,
            **extra,
        }
        return ChatStream(self, body, chosen, history)

    def complete(
        self,
        messages: Iterable[Mapping[str, Any]],
        model: str | Model = DEFAULT_MODEL_ID,
        system_prompt: str | None = None,
        **extra: Any,
    ) -> str:
        """The whole reply as one string."""
        with self.stream_chat(messages, model, system_prompt, **extra) as stream:
            return "".join(stream)

    # -- models and account -----------------------------------------------------------------

    def list_models(self, *, fallback: bool = True) -> list[Model]:
        """The server's model list when it answers, else the built-in catalog.

        Entries the client cannot use (no id, sizes that are not positive finite numbers,
        a repeated id) are skipped and logged once; the good ones are kept. Only a list with
        no usable entry at all gives way to the catalog. With `fallback=False` a server that
        does not answer usably is an error instead, for callers (like the terminal's
        --list-models) that must not pass the catalog off as the server's.
        """
        try:
            response = self._post("/api/models", {}, stream=True, code=self._current_code())
            entries = self._read_json(response, "the model list")
            if isinstance(entries, Mapping):  # some periods wrapped the list
                entries = entries.get("models") or entries.get("data")
            if not isinstance(entries, list):
                raise ProtocolError("the model list is not a list")
        except LiaobotsError as exc:
            if not fallback:
                raise
            log.info("model list unavailable, using the built-in catalog: %s", exc)
            return list(BUILTIN_MODELS)
        models, skipped = models_from_wire(entries)
        if skipped:
            _report_skipped(self.base_url, skipped, len(entries))
        if not models:
            if not fallback:
                raise ProtocolError("the model list has no usable model")
            log.info("model list has no usable model, using the built-in catalog")
            return list(BUILTIN_MODELS)
        self._server_models = tuple(models)
        return models

    def resolve_model(self, model_id: str) -> Model:
        """Find a model by id in the lists known so far, else in the server's list."""
        try:
            return find_model(model_id, self._server_models or BUILTIN_MODELS)
        except UnknownModelError:
            pass  # not known yet, or added to the service since its list was read
        return find_model(model_id, self.list_models())

    def get_user(self) -> UserInfo:
        """Check the auth code with the service and read its balance (a guest signs in)."""
        response = self._authorized_post("/api/user", lambda code: {"authcode": code})
        data = self._read_json(response, "the account answer")
        if not isinstance(data, Mapping):
            raise ProtocolError("the account answer is not an object")
        details = {k: v for k, v in data.items() if k.lower() not in {"authcode", "key"}}
        return UserInfo(balance=_finite_number(data.get("balance")), details=details)

    def _read_json(self, response: requests.Response, what: str) -> Any:
        """A whole JSON answer, read under a size bound and always closed; LiaobotsError else."""
        return _parse_answer(self._read_whole(response, what), what)

    def _read_answer(self, response: requests.Response, what: str) -> Any:
        """Like `_read_json`, but the human-check page is a HumanCheckError, and an empty
        answer is None."""
        data = self._read_whole(response, what)
        if is_html(response.headers.get("content-type")) or _looks_like_html(data):
            raise HumanCheckError()
        if not data.strip():
            return None
        return _parse_answer(data, what)

    def _read_whole(self, response: requests.Response, what: str) -> bytes:
        """A whole answer under `ANSWER_MAX_BYTES`, the response always closed."""
        size = 0
        chunks: list[bytes] = []
        try:
            for chunk in response.iter_content(READ_SIZE):
                size += len(chunk)
                if size > ANSWER_MAX_BYTES:
                    raise ProtocolError(f"{what} is larger than {ANSWER_MAX_BYTES} bytes")
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            timed_out = exc.args and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError)
            if timed_out:
                raise StreamTimeoutError(self.timeout, during_reply=False) from None
            raise ConnectionFailedError(self.base_url, during_reply=False) from exc
        finally:
            response.close()
        return b"".join(chunks)

    # -- the code, and guest sign-in --------------------------------------------------------

    def _current_code(self) -> str | None:
        """The code requests carry now: a guest code once signed in, else the one given."""
        return self._guest_code or self._auth_code

    def _code(self) -> str:
        """The code to send, signing in as a guest first when that is allowed and needed."""
        with self._guest_lock:
            code = self._current_code()
            if code:
                return code
            if not self.guest:
                raise MissingAuthCodeError()
            self._guest_code = self._sign_in_as_guest()
            return self._guest_code

    def _renew(self, refused: str) -> str:
        """A fresh guest code for one that was refused, unless another request got one."""
        with self._guest_lock:
            if self._guest_code and self._guest_code != refused:
                return self._guest_code
            self._guest_code = None
            self._guest_code = self._sign_in_as_guest()
            return self._guest_code

    def _sign_in_as_guest(self) -> str:
        """The guest flow of whichever generation answers, told apart by its answers.

        `/api/user` with an empty code is asked first: the later service hands a code out at
        once. When it answers with the human-check page, a refusal or no code, a login follows
        (a JSON token; the earlier service's form when the JSON is not understood), which sets
        the session cookie, and `/api/user` is asked again. The cookies stay in this client's
        session, which sends them with every later request. A refusal at a step that decides,
        or no code in the end, is a GuestRefusedError; a network failure or a rate limit stays
        what it is.
        """
        log.info("signing in to %s as a guest", self.base_url)
        code = self._ask_for_guest_code(after_login=False)
        if code is None:
            self._guest_login()
            code = self._ask_for_guest_code(after_login=True)
        if not code:
            raise GuestRefusedError("it gave no guest code")
        if not _sendable(code):
            raise GuestRefusedError("its guest code cannot be sent")
        log.info("signed in to %s as a guest", self.base_url)
        return code

    def _guest_login(self) -> None:
        """Open a guest session (its cookie): a JSON token, else the form earlier services took."""
        step = "the guest login was refused"
        body = {"token": GUEST_TOKEN}
        try:
            try:
                response = self._post(GUEST_LOGIN_PATH, body, stream=True, code=None)
            except UpstreamError as exc:
                if exc.status_code not in LOGIN_BODY_NOT_UNDERSTOOD:
                    raise
                log.info("the JSON guest login was not understood, sending the form")
                response = self._post(GUEST_LOGIN_PATH, body, stream=True, code=None, form=True)
            answer = self._read_answer(response, "the guest login answer")
        except HumanCheckError:
            raise GuestRefusedError(f"{step}: it answered with its human-check page") from None
        except (AuthError, InsufficientBalanceError, UpstreamError) as exc:
            status = getattr(exc, "status_code", None)
            raise GuestRefusedError(f"{step} ({status})", status_code=status) from None
        except ProtocolError:
            answer = None  # an earlier service's login said nothing readable: the cookie counts
        said = answer.get("code") if isinstance(answer, Mapping) else None
        if said is not None and said not in (200, "200"):  # `{"code": 200}` is the later yes
            raise GuestRefusedError(step)

    def _ask_for_guest_code(self, *, after_login: bool) -> str | None:
        """A guest code from `/api/user`; before a login, None when one is needed first."""
        step = "its guest account was refused"
        body = {"authcode": "", "recommendUrl": self.base_url + "/"}
        try:
            response = self._post("/api/user", body, stream=True, code=None)
            answer = self._read_answer(response, "the guest account answer")
        except HumanCheckError:
            if not after_login:
                return None  # the check page: the later service wants the login first
            raise GuestRefusedError("it answered with its human-check page") from None
        except (AuthError, InsufficientBalanceError, UpstreamError) as exc:
            status = getattr(exc, "status_code", None)
            if not after_login and (status is None or status < 500):
                return None  # no session yet: the earlier service wants the login first
            raise GuestRefusedError(f"{step} ({status})", status_code=status) from None
        except ProtocolError:
            raise GuestRefusedError("its guest account answer could not be read") from None
        code = answer.get("authCode") if isinstance(answer, Mapping) else None
        code = code.strip() if isinstance(code, str) else ""
        if not code and not after_login:
            return None
        return code

    def _authorized_post(
        self,
        path: str,
        make_body: Callable[[str], Mapping[str, Any]],
        *,
        cancelled: threading.Event | None = None,
    ) -> requests.Response:
        """POST with the code; for a guest client a refused code is renewed once, then resent.

        Only a refusal before any reply is renewed: once this returns, the reply is under way
        and nothing is ever sent twice.
        """
        code = self._code()
        try:
            return self._post(path, make_body(code), stream=True, code=code, cancelled=cancelled)
        except GuestRefusedError:
            raise
        except AuthError as exc:
            if not self.guest or exc.status_code not in REFUSED_STATUSES:
                raise
        log.info("POST %s: the code was refused, signing in as a guest again", path)
        code = self._renew(code)
        return self._post(path, make_body(code), stream=True, code=code, cancelled=cancelled)

    # -- HTTP -------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _headers(self, code: str | None, form: bool = False) -> dict[str, str]:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base_url))
        headers = {
            "content-type": "application/x-www-form-urlencoded" if form else "application/json",
            "accept": "text/event-stream, text/plain, application/json",
            # Streamed text is read as it arrives, undecoded: it must not come compressed.
            "accept-encoding": "identity",
            "origin": origin,
            "referer": self.base_url + "/",
            "user-agent": USER_AGENT,
        }
        if code:
            headers["x-auth-code"] = code
        return headers

    def _post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        stream: bool,
        code: str | None,
        form: bool = False,
        cancelled: threading.Event | None = None,
    ) -> requests.Response:
        """POST with retries before the reply starts; returns a 200 response or raises."""
        if code and not _sendable(code):
            raise AuthError(reason="unsendable")
        if form:
            payload = urlencode(body).encode("ascii")
        else:
            # UTF-8 as a browser sends it: \u-escaped Cyrillic would triple the body's size. A
            # lone surrogate (from a model entry, say) has no UTF-8 form: then all escaped.
            try:
                payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                payload = json.dumps(body).encode("ascii")
        attempt = 0
        while True:
            try:
                response = self._session.post(
                    self._url(path),
                    data=payload,
                    headers=self._headers(code, form),
                    stream=stream,
                    timeout=(self.connect_timeout, self.timeout),
                    # A redirect would carry x-auth-code to wherever it points: never follow.
                    allow_redirects=False,
                )
            except requests.exceptions.ConnectTimeout as exc:
                error: LiaobotsError = ConnectionFailedError(self.base_url, during_reply=False)
                cause: BaseException = exc
            except requests.exceptions.ReadTimeout:
                raise StreamTimeoutError(self.timeout, during_reply=False) from None
            except requests.exceptions.RequestException as exc:  # refused, reset, malformed
                error, cause = ConnectionFailedError(self.base_url, during_reply=False), exc
            else:
                if response.status_code == 200:
                    return response
                response.close()
                error, cause = _status_error(response), None
            wait = self._retry_wait(error, attempt)
            if wait is None:
                log.info("POST %s failed: %s", path, type(error).__name__)
                raise error from cause
            attempt += 1
            log.info("POST %s: %s, retry %d in %.1fs", path, type(error).__name__, attempt, wait)
            if (cancelled or threading.Event()).wait(wait):  # a closed stream stops retrying
                raise error from cause

    def _retry_wait(self, error: LiaobotsError, attempt: int) -> float | None:
        """Seconds to wait before trying again, or None when this failure is final."""
        if attempt >= self.max_retries:
            return None
        if isinstance(error, RateLimitError):
            if error.retry_after is None or error.retry_after > self.max_retry_after:
                return None
            return error.retry_after
        if isinstance(error, ConnectionFailedError) or (
            isinstance(error, UpstreamError) and error.status_code in RETRY_STATUSES
        ):
            return self.retry_backoff * (2**attempt) * random.uniform(0.8, 1.2)
        return None


class ChatStream(Iterator[str]):
    """One reply in flight: iterate for text, `close()` to cancel at once.

    The stream does not keep the text it yields: a caller that wants the whole reply joins
    the pieces (or calls `complete()`), so a long reply is not held in memory twice. `chars`
    counts what was yielded. `close()` is safe from any thread: it shuts the socket down,
    which wakes a read blocked in another thread.
    """

    def __init__(
        self, client: LiaobotsClient, body: dict[str, Any], model: Model, history: FittedHistory
    ) -> None:
        self._client = client
        self._body = body
        self.model = model
        self.history = history
        self.framing: str | None = None
        self.finished = False
        self.chars = 0
        self._response: requests.Response | None = None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._reading = False
        self._chunks = self._generate()

    @property
    def closed(self) -> bool:
        return self._cancelled.is_set()

    def __repr__(self) -> str:
        state = "finished" if self.finished else "closed" if self.closed else "open"
        return f"<ChatStream model={self.model.id!r} {state} chars={self.chars}>"

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> str:
        return next(self._chunks)

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the reply now and release its connection; idempotent, safe from any thread."""
        with self._lock:
            self._cancelled.set()
            response, reading = self._response, self._reading
        if response is not None:
            _shutdown_socket(response)  # wakes a read blocked in another thread
            if not reading:  # a running read closes the response itself on waking
                response.close()
        with contextlib.suppress(ValueError):  # "generator already executing" elsewhere
            self._chunks.close()

    def _open(self) -> requests.Response:
        response = self._client._authorized_post(
            "/api/chat", lambda _code: self._body, cancelled=self._cancelled
        )
        content_type = response.headers.get("content-type")
        if is_html(content_type):
            response.close()
            raise HumanCheckError()
        if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
            response.close()  # read undecoded, it would show as garbage
            raise ProtocolError("the reply came compressed")
        self.framing = "sse" if is_event_stream(content_type) else "raw"
        with self._lock:
            self._response = response
            cancelled = self._cancelled.is_set()
        if cancelled:
            response.close()
        return response

    def _read_error(self, exc: Exception, during_reply: bool) -> LiaobotsError:
        if isinstance(exc, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
            return StreamTimeoutError(self._client.timeout, during_reply=during_reply)
        if isinstance(exc, (urllib3.exceptions.HTTPError, OSError, ValueError)):
            return ConnectionFailedError(self._client.base_url, during_reply=True)
        raise exc

    def _generate(self) -> Iterator[str]:
        if self._cancelled.is_set():
            return
        response = self._open()
        decoder: ReplyDecoder = decoder_for(response.headers.get("content-type"))
        sniffer = HtmlSniffer()
        pieces = _pieces(response.raw)
        received = 0
        started = time()
        try:
            while True:
                with self._lock:
                    if self._cancelled.is_set():
                        return
                    self._reading = True
                try:
                    data = next(pieces, b"")
                except Exception as exc:
                    if self._cancelled.is_set():
                        return
                    raise self._read_error(exc, during_reply=received > 0) from exc
                finally:
                    with self._lock:
                        self._reading = False
                if self._cancelled.is_set():
                    return
                if not data:
                    text = decoder.feed(sniffer.finish()) + decoder.finish()
                    if text:
                        self.chars += len(text)
                        yield text
                    if decoder.error is not None:
                        raise decoder.error
                    self.finished = True
                    log.debug("reply done: %d bytes in %.2fs", received, time() - started)
                    return
                received += len(data)
                text = decoder.feed(sniffer.feed(data))
                if text:
                    self.chars += len(text)
                    yield text
                if decoder.error is not None:  # the service ended the reply with an error
                    raise decoder.error
                if decoder.done:  # SSE [DONE]: nothing more to wait for
                    self.finished = True
                    return
        finally:
            with self._lock:
                self._response = None
            response.close()


def _pieces(raw: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    """The body as it arrives, in the pieces that cost least to read, holding nothing back.

    A chunked body is read from the socket's buffered reader, all that has arrived at each
    call, and its framing decoded in one go (`chunked.py`): after a reply task's rest that is
    one piece for the tokens that gathered, not one per token. Should urllib3 no longer let
    that reader be reached, its own chunk reader does the same work a chunk at a time, and a
    resting reply task would fall behind the service: `tests/client/test_chunked.py` fails
    first. Any other body comes with `read1`, which returns whatever the socket has.
    """
    reader = _socket_reader(raw) if raw.chunked else None
    if reader is not None:
        body = ChunkedBody()
        while not body.done:
            data = reader.read1(READ_SIZE)
            if not data:
                raise IncompleteBody("the connection ended before the reply's last chunk")
            if piece := body.feed(data):
                yield piece
        _keep_connection(raw)
        return
    if raw.chunked and raw.supports_chunked_reads():
        yield from raw.read_chunked(decode_content=True)
        return
    while data := raw.read1(READ_SIZE):
        yield data


def _keep_connection(raw: urllib3.BaseHTTPResponse) -> None:
    """The body was read to its end: the connection goes back to the pool, as urllib3 gives
    it back after its own chunk reader, so the next reply skips a new connection (and, to
    the service, a TLS handshake before its first words)."""
    raw._fp.close()  # type: ignore[attr-defined]  # http.client's response: not the socket
    raw.release_conn()


def _socket_reader(raw: urllib3.BaseHTTPResponse) -> io.BufferedReader | None:
    """The buffered reader of the response's socket (urllib3 2 over http.client), if any.

    Nothing has read the body from it yet: urllib3 streams (`stream=True`) and http.client
    reads only the headers.
    """
    reader = getattr(getattr(raw, "_fp", None), "fp", None)
    return reader if isinstance(reader, io.BufferedReader) else None


def _parse_answer(data: bytes, what: str) -> Any:
    try:
        return parse_json(data)
    except JsonTooDeep:
        raise ProtocolError(f"{what} is nested too deeply") from None
    except ValueError:
        raise ProtocolError(f"{what} is not valid JSON") from None


def _looks_like_html(data: bytes) -> bool:
    """Whether an answer is a web page (the human check), whatever its content type says."""
    try:
        HtmlSniffer().feed(data[:64])
    except HumanCheckError:
        return True
    return False


def _status_error(response: requests.Response) -> LiaobotsError:
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("retry-after")) if status == 429 else None
    return error_for_status(status, retry_after)


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds from now: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError, IndexError):  # a year of 20 digits, say
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - time()
    return max(0.0, seconds) if math.isfinite(seconds) else None  # inf and NaN are no answer


def _sendable(code: str) -> bool:
    """Whether a code can travel in an HTTP header as it is: visible ASCII and spaces."""
    return all(" " <= c <= "~" for c in code)


def _finite_number(value: Any) -> float | None:
    """A number from a JSON answer, or None: never a bool, infinity, NaN or OverflowError."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int of 400 digits
        return None
    return number if math.isfinite(number) else None


_reported_lock = threading.Lock()
_reported: set[tuple[str, tuple[str, ...]]] = set()


def _report_skipped(base_url: str, skipped: list[str], total: int) -> None:
    """Say once per service and kind of damage that model entries were skipped."""
    reasons = tuple(sorted(set(skipped)))
    with _reported_lock:
        first = (base_url, reasons) not in _reported
        if first and len(_reported) < 1000:
            _reported.add((base_url, reasons))
    log.log(
        logging.WARNING if first else logging.DEBUG,
        "skipped %d of %d entries of the model list from %s: %s",
        len(skipped),
        total,
        base_url,
        "; ".join(reasons),
    )


def _shutdown_socket(response: requests.Response) -> None:
    """Wake a read blocked on this response's socket, in whatever thread it waits."""
    connection = getattr(response.raw, "connection", None) or getattr(
        response.raw, "_connection", None
    )
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def clean_base_url(base_url: str) -> str:
    """Validate the base URL and drop a trailing slash; a path prefix is kept."""
    url = base_url.strip().rstrip("/")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ConfigurationError("The base URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ConfigurationError(
            "The base URL is not a valid address (check the host and the port). "
            "Set LIAOBOTS_BASE_URL to something like https://liaobots.com."
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = f" {url!r}" if "@" not in url else ""  # never echo a password
        raise ConfigurationError(
            f"The base URL{shown} is not an http(s) address. "
            "Set LIAOBOTS_BASE_URL to something like https://liaobots.com."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError("The base URL must not carry a query or a fragment.")
    if parts.username or parts.password:
        raise ConfigurationError("The base URL must not carry a user name or password.")
    return url


__all__: Sequence[str] = [
    "ChatStream",
    "LiaobotsClient",
    "UserInfo",
    "clean_base_url",
    "parse_retry_after",
]
