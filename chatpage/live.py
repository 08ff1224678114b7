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

from .i18n import t
from .persistence import Journal

log = logging.getLogger(__name__)

LIVE_INTERVAL = 1.0  # seconds between reads of a reply being written elsewhere
WATCH_INTERVAL = 2.0  # seconds between checks of the open conversation for changes


@st.fragment(run_every=LIVE_INTERVAL)
def live_reply(journal: Journal, conversation_id: str, message_id: str, lang: str) -> None:
    """A reply another window or process is writing, as far as it has been saved."""
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
        st.markdown(current.text)
    st.caption(":material/edit_note: " + t(lang, "being_written"))


@st.fragment(run_every=WATCH_INTERVAL)
def watch(journal: Journal, conversation_id: str, revision: int) -> None:
    """Re-run the page when the open conversation changed in another window.

    The page draws this only for a stored conversation, at the revision it just read, so a
    full run never re-runs itself from here.
    """
    try:
        now = journal.store.revision(conversation_id, journal.owner)
    except SQLAlchemyError:
        return  # said elsewhere; try again on the next tick
    if now != revision:
        st.rerun()
