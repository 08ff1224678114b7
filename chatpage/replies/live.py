"""What other windows write, shown as it happens: a reply being written, a changed conversation.

Another tab, device or app process may be writing into the conversation on show. Both
views here are fragments that re-run on a timer; when something settles or changes they
re-run the whole page, which then takes in the stored state.

A reply written elsewhere is followed by its notices (database/notices.py): between two
ticks the fragment waits for word of a checkpoint and reads the reply when it comes, so the
text shows within moments of being saved, and a tick with no news reads nothing. Without the
listener (SQLite, or its connection down) each tick reads the reply, as a fallback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from chatpage import session
from chatpage.data.conversation import Message
from chatpage.database.conversations import ConversationStore
from chatpage.database.notices import key
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.replies.render import allow_interrupt, give_way
from chatpage.replies.tasks import Replies
from chatpage.views import shortcuts
from chatpage.views.safe_markdown import show

log = logging.getLogger(__name__)

LIVE_INTERVAL = 1.0  # seconds between ticks of the view of a reply being written elsewhere
FOLLOW_FOR = 0.9 * LIVE_INTERVAL  # of each tick, the time it waits for news (the rest: drawing)
WAKE_SLICE = 0.1  # seconds a wait lasts before the page may take a click or a re-run
WATCH_INTERVAL = 2.0  # seconds between checks of the open conversation for changes
# A reply silent this long is read even without news: a writer killed mid-reply sends no
# notice, and only a read (judged by the database's clock) finds its lease ran out.
SILENT_READ_AFTER = 2.0


@st.fragment(run_every=LIVE_INTERVAL)
def reply_from_elsewhere(
    journal: Journal, replies: Replies, conversation_id: str, message_id: str, lang: str
) -> None:
    """A reply another app process is writing, as far as it has been saved, with Stop.

    In a full run of the page it is drawn as stored; a tick of its own then follows it for
    most of a second, woken by each checkpoint's notice.
    """
    store, owner = journal.store, journal.owner
    ctx = get_script_run_ctx()
    ticking = ctx is not None and bool(ctx.fragment_ids_this_run)
    remembered = f"_elsewhere:{message_id}"
    heard = store.notices.version(key(conversation_id))
    known: tuple[tuple[int, int], Message, float] | None = st.session_state.get(remembered)
    fresh = known is not None and time.monotonic() - known[2] < SILENT_READ_AFTER
    if ticking and known is not None and fresh and known[0] == heard and store.notices.listening:
        current: Message | None = known[1]  # no news since the last read: nothing to read
        read_at = known[2]
    else:
        current = _read(store, conversation_id, message_id, owner)
        read_at = time.monotonic()
        if current is None:
            return  # deleted elsewhere (the page says so), or the database is away
    if current.settled:
        st.session_state.pop(remembered, None)
        st.rerun()  # the whole page: the reply ended, show it with its buttons
    st.session_state[remembered] = (heard, current, read_at)
    text = st.empty()
    if current.text:
        show(current.text, text)
    st.caption(":material/edit_note: " + t(lang, "being_written"))
    st.button(
        t(lang, "stop"),
        icon=":material/stop_circle:",
        key="stop",
        shortcut=shortcuts.STOP,
        on_click=session.stop_reply,
        args=(journal, replies, conversation_id, message_id),
    )
    if not ticking:
        return  # a full run of the page does not wait here: what is below it would
    for news, grown in follow_elsewhere(store, conversation_id, message_id, owner, heard):
        allow_interrupt()
        give_way()  # a click on Stop
        if grown is None:
            continue
        if grown.settled:
            st.session_state.pop(remembered, None)
            st.rerun()
        st.session_state[remembered] = (news, grown, time.monotonic())
        if grown.text != current.text:
            show(grown.text, text)
            current = grown


def follow_elsewhere(
    store: ConversationStore,
    conversation_id: str,
    message_id: str,
    owner: str,
    heard: tuple[int, int],
    follow_for: float | None = None,
) -> Iterator[tuple[tuple[int, int], Message | None]]:
    """The reply as read after each notice of its conversation, for `follow_for` seconds.

    Yields (where the notices stand, the reply read then) at each notice, and (…, None)
    every `WAKE_SLICE` without one, so the caller can take a click; stops when the reply
    ends, is gone, or cannot be read.
    """
    waited = key(conversation_id)
    ends = time.monotonic() + (FOLLOW_FOR if follow_for is None else follow_for)
    while (left := ends - time.monotonic()) > 0:
        news = store.notices.wait(waited, heard, min(WAKE_SLICE, left))
        if news == heard:
            yield heard, None
            continue
        heard = news
        grown = _read(store, conversation_id, message_id, owner)
        if grown is None:
            return
        yield heard, grown
        if grown.settled:
            return


def _read(
    store: ConversationStore, conversation_id: str, message_id: str, owner: str
) -> Message | None:
    try:
        return store.message(conversation_id, message_id, owner)
    except SQLAlchemyError:
        log.exception("could not read a reply being written elsewhere")
        return None  # said on the page by the next full run; try again on the next tick


@st.fragment(run_every=WATCH_INTERVAL)
def watch(
    journal: Journal, conversation_id: str | None, revision: int, writing: frozenset[str] | None
) -> None:
    """Re-run the page when another window changed the open conversation, or when a reply
    started or ended in any of the person's conversations (the list marks those).

    The page draws this with the state it has just read, so a full run checks nothing here
    (nor re-runs itself): only the fragment's own ticks do.
    """
    ctx = get_script_run_ctx()
    if ctx is None or not ctx.fragment_ids_this_run:
        return  # a full run of the page: what it drew was read just now
    try:
        # The open conversation's own replies are followed by its revision, not by the list.
        # Both are read from the process's boards, shared by its tabs (database/watching.py).
        changed = writing is not None and (
            journal.store.writing_as_watched(journal.owner) - {conversation_id}
            != writing - {conversation_id}
        )
        if conversation_id is not None and not changed:
            stored = journal.store.watched.revision(conversation_id, journal.owner, revision)
            changed = stored != revision
    except SQLAlchemyError:
        return  # said elsewhere; try again on the next tick
    if changed:
        st.rerun()
