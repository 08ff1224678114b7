"""What the tabs of one process watch, read once for all of them: boards.

`RevisionBoard`: the revisions of the conversations open in this process's tabs, in one query.

Every open tab asks every two seconds whether another window changed its conversation
(`live.watch`). Fifty tabs asking on their own made fifty queries every two seconds, the
largest part of an idle page's cost on a busy process. A tab now reads the revision from
this board, which reads all the watched conversations' revisions in one query at most once
per `max_age` (and a conversation it has not read yet at once, on its own).

On PostgreSQL it reads less still: while the process's notice listener is connected
(notices.py), a revision read stays true until a notice says it moved, so an idle page's
tabs cost no query at all, and a change is read as soon as it is heard.

`WritingBoard`: each person's replies being written (the list marks their conversations),
which every open tab checked with a query of its own every two seconds (`live.watch`). A
person's entry is read at most once per `max_age` (under the watch's interval, so a tick never
compares an older read with the page's own) for all their tabs; on PostgreSQL, while the
listener is connected, it holds until a notice says one of their replies started or ended
(notices.WRITING). A reply whose writer died sends no notice: its lease runs out, so an
entry also expires when the earliest lease in it could have.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from chatpage.database.notices import REVISION, WRITING, Notices, key, owner_tag

Read = Callable[[Iterable[str]], dict[str, tuple[str, int]]]  # id -> (owner, revision)
FORGET_AFTER = 30.0  # seconds since a tab last asked, after which a conversation is not read
# owner -> ({reply id: conversation id}, seconds until the earliest of their leases runs out)
ReadWriting = Callable[[str], tuple[dict[str, str], float | None]]
# However quiet, an entry is read again after this long: a safety net for a writer that
# announces nothing (an older version of the page beside this one, during an upgrade).
LONGEST = 30.0


class RevisionBoard:
    """Revisions of watched conversations, shared by the tabs of one app process."""

    def __init__(
        self,
        read: Read,
        max_age: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        notices: Notices | None = None,
    ):
        self._read = read
        self._notices = notices
        self._heard: dict[str, tuple[int, int]] = {}  # where each one's notices stood at its read
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._reading = threading.Lock()
        self._asked: dict[str, float] = {}  # conversation id -> when a tab last asked
        self._known: dict[str, tuple[str, int]] = {}
        self._read_at = float("-inf")

    def revision(self, conversation_id: str, owner: str, seen: int) -> int | None:
        """The conversation's revision as of at most `max_age` ago; None if gone or not theirs.

        `seen` is the revision the asking tab has: an older one on the board means the board
        was read before that tab's own write, and it is read again rather than taken for a
        change made elsewhere.
        """
        now = self._clock()
        with self._lock:
            self._asked[conversation_id] = now
            known = self._known.get(conversation_id)
            recent = now - self._read_at < self.max_age
            fresh = known is not None and known[1] >= seen
            fresh = fresh and (recent or self._unchanged(conversation_id))
        if not fresh:
            self._refresh(now, conversation_id)
        with self._lock:
            known = self._known.get(conversation_id)
        if known is None or known[0] != owner:
            return None
        return known[1]

    def _refresh(self, now: float, conversation_id: str) -> None:
        """One query for every watched conversation; one reader at a time, the rest wait."""
        with self._reading:
            with self._lock:
                if self._read_at > now and conversation_id in self._known:
                    return  # another tab's read began after this one asked: it covers it
                self._asked = {i: t for i, t in self._asked.items() if now - t < FORGET_AFTER}
                wanted = list(self._asked)
            started = self._clock()
            heard = self._where_notices_stand(wanted)  # before the read: news during it counts
            found = self._read(wanted)
            with self._lock:
                self._known = {i: found[i] for i in wanted if i in found}
                self._heard = heard
                self._read_at = started

    def _where_notices_stand(self, wanted: list[str]) -> dict[str, tuple[int, int]]:
        if self._notices is None or not self._notices.listening:
            return {}
        return {i: self._notices.version(key(i, REVISION)) for i in wanted}

    def _unchanged(self, conversation_id: str) -> bool:
        """No notice of a new revision since the last read, with the listener connected."""
        notices = self._notices
        if notices is None or not notices.listening or conversation_id not in self._heard:
            return False
        return self._heard[conversation_id] == notices.version(key(conversation_id, REVISION))


class _Writing:
    """One person's replies being written, as read at `read_at` (the board's clock)."""

    __slots__ = ("expires", "heard", "read_at", "replies")

    def __init__(
        self, replies: dict[str, str], read_at: float, heard: tuple[int, int] | None, expires: float
    ) -> None:
        self.replies = replies
        self.read_at = read_at
        self.heard = heard  # where the owner's WRITING notices stood before the read
        self.expires = expires


class WritingBoard:
    """Each person's replies being written, shared by the tabs of one app process."""

    def __init__(
        self,
        read: ReadWriting,
        max_age: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        notices: Notices | None = None,
    ):
        self._read = read
        self._notices = notices
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, _Writing] = {}
        self._asked: dict[str, float] = {}  # owner -> when a tab last asked
        self._readers: dict[str, threading.Lock] = {}  # one read per owner at a time

    def replies(self, owner: str) -> dict[str, str]:
        """The owner's replies being written (id -> conversation id), as of at most
        `max_age` ago, or as of their last notice while the listener is connected."""
        waited = key(owner_tag(owner), WRITING)
        found = self._fresh(owner, waited)
        if found is not None:
            return found
        with self._lock:
            reader = self._readers.setdefault(owner, threading.Lock())
        with reader:
            found = self._fresh(owner, waited)  # another tab of theirs read it meanwhile
            if found is not None:
                return found
            heard = self._notices.version(waited) if self._notices is not None else None
            started = self._clock()
            replies, lease_left = self._read(owner)
            expires = started + min(LONGEST, lease_left if lease_left is not None else LONGEST)
            with self._lock:
                self._known[owner] = _Writing(replies, started, heard, expires)
                self._forget_before(started - FORGET_AFTER)
            return replies

    def _fresh(self, owner: str, waited: str) -> dict[str, str] | None:
        now = self._clock()
        with self._lock:
            self._asked[owner] = now
            entry = self._known.get(owner)
        if entry is None or now >= entry.expires:
            return None
        notices = self._notices
        if notices is not None and notices.version(waited) != entry.heard:
            return None  # one of their replies started or ended since (here: on commit)
        if now - entry.read_at < self.max_age or (notices is not None and notices.listening):
            return entry.replies
        return None

    def _forget_before(self, cutoff: float) -> None:
        for owner in [o for o, at in self._asked.items() if at < cutoff]:
            del self._asked[owner]
            self._known.pop(owner, None)
            self._readers.pop(owner, None)
