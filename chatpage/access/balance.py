"""The service's balance as the page knows it: low (admins are warned), or gone (nobody sends).

The balance is the service's answer to /api/user (asked once per browser session by
`backend.py`, and afresh where it matters). A reply refused for want of balance (402) is
evidence too: it is noted for the whole app process, so the next person's message does not
fail the same way. While the balance is gone a message is refused before anything is sent,
and given back into the input with one plain notice; each refusal asks the service again,
so a top-up is noticed at the very next message.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from chatpage.access.identity import Visitor
from chatpage.access.refusal import NoBalance
from chatpage.backend import Backend, ServiceInfo, fresh_balance, service_info
from chatpage.data.conversation import Message, Status
from chatpage.i18n import t
from chatpage.settings import Settings
from liaobots_core import InsufficientBalanceError

GONE_KIND = NoBalance.KIND
# A 402 counts this long at most: should the service never report a top-up as a higher
# balance, a message is tried upstream again after it (at most one failure per lifetime).
NOTE_LIFETIME = 600.0


@dataclass(frozen=True)
class _Note:
    balance: float | None  # what the service reported just after the 402
    at: float  # time.monotonic() of the 402


@dataclass
class _Spent:
    """Services whose balance ran out under a reply, by backend key."""

    seen: dict[str, _Note] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, key: str) -> _Note | None:
        """The service's 402, while it still counts."""
        with self.lock:
            noted = self.seen.get(key)
            if noted is not None and time.monotonic() - noted.at > NOTE_LIFETIME:
                del self.seen[key]
                noted = None
            return noted


@st.cache_resource(show_spinner=False)
def _spent() -> _Spent:
    return _Spent()


def is_low(settings: Settings, info: ServiceInfo) -> bool:
    """Whether the balance is known and below LIAOBOTS_LOW_BALANCE."""
    threshold = settings.low_balance
    return threshold is not None and info.balance is not None and info.balance < threshold


def warn_admins(settings: Settings, visitor: Visitor, info: ServiceInfo, lang: str) -> None:
    """At the top of every page, for admins: the balance is running low."""
    if visitor.admin and is_low(settings, info):
        st.warning(
            t(lang, "low_balance", balance=info.balance, limit=f"{settings.low_balance:g}"),
            icon=":material/account_balance_wallet:",
        )


def is_gone(backend: Backend) -> bool:
    """Whether the balance is known to be used up: the service says so (0 or less, or 402
    for the account), or a reply was refused for want of it since the last top-up."""
    if backend.demo:
        return False
    if _spent().note(backend.key) is not None:
        return True
    return _exhausted(service_info(backend))


def note_reply(backend: Backend, reply: Message) -> None:
    """What a reply's end says of the balance: refused for want of it (402), nobody's next
    message goes upstream; answered, it is there (a Retry after a top-up)."""
    if backend.demo:
        return
    if reply.error is not None and reply.error.kind == "balance":
        info = fresh_balance(backend)
        with _spent().lock:
            _spent().seen[backend.key] = _Note(info.balance, time.monotonic())
    elif reply.status is Status.COMPLETE:
        with _spent().lock:
            _spent().seen.pop(backend.key, None)


def check(backend: Backend) -> None:
    """Raise NoBalance while the balance is gone; ask the service first, for a top-up."""
    if not is_gone(backend):
        return
    info = fresh_balance(backend)
    noted = _spent().note(backend.key)
    before = noted.balance if noted is not None else None
    if info.balance is not None and info.balance > 0 and (before is None or info.balance > before):
        with _spent().lock:
            _spent().seen.pop(backend.key, None)
        return
    raise NoBalance()


def notice(slot: st.delta_generator.DeltaGenerator, backend: Backend | None, lang: str) -> None:
    """One plain notice by the input while nothing can be sent; else nothing."""
    if backend is not None and is_gone(backend):
        slot.warning(t(lang, "error_balance_gone"), icon=":material/money_off:")
    else:
        slot.empty()


def _exhausted(info: ServiceInfo) -> bool:
    if isinstance(info.account_error, InsufficientBalanceError):
        return True
    return info.balance is not None and info.balance <= 0


def forget_spent() -> None:
    """Forget every 402 noted by this process (as a restart would)."""
    spent = _spent()
    with spent.lock:
        spent.seen.clear()
