"""What other windows write, shown as it happens: a reply being written, a changed conversation.

Another tab, device or app process may be writing into the conversation on show. Both
views here are fragments that re-run on a timer and read the store (one small query each
time); when something settles or changes they re-run the whole page, which then takes in
the stored state.
"""

from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from chatpage import session
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.replies.tasks import Replies
from chatpage.views.safe_markdown import show

log = logging.getLogger(__name__)

LIVE_INTERVAL = 1.0  # seconds between reads of a reply being written elsewhere
WATCH_INTERVAL = 2.0  # seconds between checks of the open conversation for changes


@st.fragment(run_every=LIVE_INTERVAL)
def reply_from_elsewhere(
    journal: Journal, replies: Replies, conversation_id: str, message_id: str, lang: str
) -> None:
    """A reply another app process is writing, as far as it has been saved, with Stop."""
    try:
        current = journal.store.message(conversation_id, message_id, journal.owner)
    except SQLAlchemyError:
        log.exception("could not read a reply being written elsewhere")
        return  # said on the page by the next full run; try again on the next tick
    if current is None:
        return  # deleted elsewhere: the page says so
    if current.settled:
        st.rerun()  # the whole page: the reply ended, show it with its buttons
    if current.text:
        show(current.text)
    st.caption(":material/edit_note: " + t(lang, "being_written"))
    st.button(
        t(lang, "stop"),
        icon=":material/stop_circle:",
        key="stop",
        on_click=session.stop_reply,
        args=(journal, replies, conversation_id, message_id),
    )


@st.fragment(run_every=WATCH_INTERVAL)
def watch(
    journal: Journal, conversation_id: str | None, revision: int, writing: frozenset[str] | None
) -> None:
    """Re-run the page when another window changed the open conversation, or when a reply
    started or ended in any of the person's conversations (the list marks those).

    The page draws this with the state it has just read, so a full run never re-runs
    itself from here.
    """
    try:
        # The open conversation's own replies are followed by its revision, not by the list.
        changed = writing is not None and (
            journal.store.writing(journal.owner) - {conversation_id} != writing - {conversation_id}
        )
        if conversation_id is not None and not changed:
            stored = journal.store.watched.revision(conversation_id, journal.owner, revision)
            changed = stored != revision
    except SQLAlchemyError:
        return  # said elsewhere; try again on the next tick
    if changed:
        st.rerun()
