"""Which Liaobots service the page talks to, and what it knows about it.

A client is made once per (service, code) and shared by every browser session that uses the
same pair, so connections are pooled. A guest's client is the browser session's own, kept in
its session state: its sign-in and cookies are never shared with another visitor. The offline
demo is the project's emulator, started once per server process on a loopback port with a
random code of its own.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field, replace

import streamlit as st

from chatpage.settings import Settings
from liaobots_core import BUILTIN_MODELS, LiaobotsClient, LiaobotsError, Model
from liaobots_core.emulator import Behavior, Emulator

# Paced like a model typing: ~60 characters a second.
DEMO_BEHAVIOR = Behavior(chunk_bytes=12, delay=0.05)
METADATA_TIMEOUT = 8.0
_GUEST_CHOSEN = "_guest_chosen"
_GUEST_CLIENT = "_guest_client"  # (base URL, client): per browser session, never shared
# The sidebar's widgets that choose the service (kept across pages: persist_state="session").
DEMO_TOGGLE = "use_demo"
CODE_INPUT = "auth_code_input"


@dataclass(frozen=True)
class Backend:
    """The service in use: where it is and which code opens it (kept out of reprs)."""

    base_url: str | None
    auth_code: str | None = field(repr=False)
    demo: bool = False
    guest: bool = False  # signed in as a guest by this browser session's own client

    @property
    def key(self) -> str:
        """A stable name for this service and code that reveals neither."""
        raw = f"{self.base_url}\0{self.auth_code}\0{self.demo}\0{self.guest}".encode()
        return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class DemoServer:
    emulator: Emulator
    auth_code: str = field(repr=False)


@st.cache_resource(show_spinner=False)
def demo_server() -> DemoServer:
    """The offline demo's emulator: one per server process, with a code nobody else knows."""
    code = secrets.token_urlsafe(24)
    return DemoServer(Emulator(auth_code=code, default=DEMO_BEHAVIOR).start(), code)


def choose_backend(
    settings: Settings, pasted_code: str | None, use_demo: bool, use_guest: bool = False
) -> Backend:
    """The offline demo when chosen; else a code (pasted, then the operator's); else a guest."""
    if use_demo:
        server = demo_server()
        return Backend(server.emulator.base_url, server.auth_code, demo=True)
    code = pasted_code or settings.auth_code
    if code is None and use_guest:
        return Backend(settings.base_url, None, guest=True)
    return Backend(settings.base_url, code)


def wants_guest(settings: Settings) -> bool:
    """Whether this browser session signs in as a guest when it has no code."""
    return settings.guest or bool(st.session_state.get(_GUEST_CHOSEN))


def continue_as_guest() -> None:
    st.session_state[_GUEST_CHOSEN] = True
    forget_service_info()


def end_guest_session() -> None:
    """Back to no code; a later guest session signs in afresh."""
    st.session_state.pop(_GUEST_CHOSEN, None)
    st.session_state.pop(_GUEST_CLIENT, None)
    forget_service_info()


def _guest_client(base_url: str | None) -> LiaobotsClient:
    """This browser session's guest client, made on first use and kept in its session state."""
    held = st.session_state.get(_GUEST_CLIENT)
    if held is None or held[0] != base_url:
        client = LiaobotsClient(auth_code="", base_url=base_url, max_retries=2, guest=True)
        held = (base_url, client)
        st.session_state[_GUEST_CLIENT] = held
    return held[1]


def chosen_backend(settings: Settings) -> Backend:
    """The service the sidebar chose for this browser session, read on a page without it."""
    use_demo = bool(st.session_state.get(DEMO_TOGGLE, settings.offline_demo))
    pasted = "" if settings.public_demo else str(st.session_state.get(CODE_INPUT) or "")
    return choose_backend(settings, pasted.strip() or None, use_demo, wants_guest(settings))


@st.cache_resource(show_spinner=False, max_entries=64)
def _client(base_url: str | None, auth_code: str | None) -> LiaobotsClient:
    return LiaobotsClient(auth_code=auth_code, base_url=base_url, max_retries=2)


def client_for(backend: Backend) -> LiaobotsClient:
    if backend.guest:
        return _guest_client(backend.base_url)
    return _client(backend.base_url, backend.auth_code)


@dataclass(frozen=True)
class ServiceInfo:
    """What the sidebar shows: models to pick from and the state of the account."""

    models: tuple[Model, ...]
    models_from_server: bool
    balance: float | None = None
    account_error: LiaobotsError | None = None
    # A guest of a page run on guests is signed in by their first message, not by a visit:
    # until then there is no account to ask about.
    guest_not_signed_in: bool = False


def service_info(backend: Backend) -> ServiceInfo:
    """Models and account state, asked once per browser session and backend."""
    cache = st.session_state.setdefault("_service_info", {})
    known = cache.get(backend.key)
    if known is None or (known.guest_not_signed_in and _guest_signed_in(backend)):
        cache[backend.key] = _shared_or_asked(backend)
    return cache[backend.key]


# Seconds a good answer about a (service, code) serves every browser session of the process.
SHARED_FOR = 60.0


class _NotShared(Exception):
    """An answer to give this session but not to keep for the others (Streamlit's cache keeps
    no call that raises)."""

    def __init__(self, info: ServiceInfo) -> None:
        super().__init__("not shared")
        self.info = info


def _shared_or_asked(backend: Backend) -> ServiceInfo:
    """Asking costs a page load two requests upstream (the models, the account): with a
    hundred people arriving, two hundred requests and a third of a page load's CPU. The answer
    for a (service, code) is the same for everyone who uses it, so a good one is shared by the
    process's sessions for a minute. A guest's (its own sign-in), a failure and a balance used
    up are asked for by each session, as before."""
    if backend.guest:
        return _ask_service(backend)
    try:
        return _shared_answer(backend.key, backend)
    except _NotShared as answer:
        return answer.info


@st.cache_resource(show_spinner=False, ttl=SHARED_FOR, max_entries=256)
def _shared_answer(key: str, _backend: Backend) -> ServiceInfo:
    """Keyed by the backend's hashed key alone: the code is never part of a cache key."""
    info = _ask_service(_backend)
    if not info.models_from_server or info.account_error is not None:
        raise _NotShared(info)
    if _backend.auth_code and (info.balance is None or info.balance <= 0):
        raise _NotShared(info)
    return info


def forget_shared_info() -> None:
    """Drop every shared answer (a new process starts without them)."""
    _shared_answer.clear()


def _guest_signed_in(backend: Backend) -> bool:
    """Whether this browser session's guest client holds a guest sign-in already."""
    held = st.session_state.get(_GUEST_CLIENT)
    return held is not None and held[0] == backend.base_url and held[1].signed_in_as_guest


def _signs_in_at_first_message(backend: Backend) -> bool:
    """A page run on guests (LIAOBOTS_GUEST=1) signs a visitor in with their first message:
    a visit alone costs the service nothing. A guest session chosen by a click signs in then.
    """
    return (
        backend.guest and not st.session_state.get(_GUEST_CHOSEN) and not _guest_signed_in(backend)
    )


def forget_service_info() -> None:
    st.session_state.pop("_service_info", None)


def fresh_balance(backend: Backend) -> ServiceInfo:
    """Ask the service for the balance now, not once per session, and keep the answer.

    For what must not go by an answer from the start of the session: the usage page, and
    whether a balance that was used up has been topped up.
    """
    info = service_info(backend)
    if not backend.auth_code and not backend.guest:
        return info
    try:
        if backend.guest:  # the guest's own client: its sign-in is the account
            balance = client_for(backend).get_user().balance
        else:
            with _quick_client(backend) as quick:
                balance = quick.get_user().balance
    except LiaobotsError as exc:
        info = replace(info, balance=None, account_error=exc)
    else:
        info = replace(info, balance=balance, account_error=None)
    st.session_state.setdefault("_service_info", {})[backend.key] = info
    return info


def _quick_client(backend: Backend) -> LiaobotsClient:
    """A client for the service's small questions: short timeouts, no retries."""
    return LiaobotsClient(
        auth_code=backend.auth_code or "",  # never the environment's code
        base_url=backend.base_url,
        timeout=METADATA_TIMEOUT,
        connect_timeout=METADATA_TIMEOUT / 2,
        max_retries=0,
    )


def _ask_service(backend: Backend) -> ServiceInfo:
    with _quick_client(backend) as quick:
        models = tuple(quick.list_models())
        from_server = models != BUILTIN_MODELS
        if not backend.auth_code and not backend.guest:
            return ServiceInfo(models, from_server)
        if _signs_in_at_first_message(backend):
            return ServiceInfo(models, from_server, guest_not_signed_in=True)
        # A guest signs in here, with the client its replies use: one sign-in, one balance.
        account = client_for(backend) if backend.guest else quick
        try:
            user = account.get_user()
        except LiaobotsError as exc:
            return ServiceInfo(models, from_server, account_error=exc)
        return ServiceInfo(models, from_server, balance=user.balance)
