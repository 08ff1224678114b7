"""The page a shared link opens (`?share=<token>`): a snapshot to read, and a copy to go on with.

Only someone the access gate let in gets here, so in `login` and `header` modes it is a
person signed in to this deployment. Nothing on it changes the shared conversation: there is
no input and no button of the chat; "Continue in my own chat" copies the snapshot into the
visitor's own conversations, under new ids, and opens it there.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from chatpage import session
from chatpage.data.conversation import Conversation, Status
from chatpage.data.export import from_json, to_json
from chatpage.database.conversations import ConversationStore
from chatpage.database.sharing import URL_KEY, Shared, plausible_token
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.operations.audit import audit
from chatpage.views import safe_markdown
from chatpage.views.conversation_list.library import browser_zone
from chatpage.views.guard import guarded
from chatpage.views.messages import chips, escaped

log = logging.getLogger(__name__)

AVATARS = {"user": ":material/person:", "assistant": ":material/smart_toy:"}


def wanted() -> bool:
    """Whether this run opens a shared link rather than the chat."""
    return URL_KEY in st.query_params


def show(store: ConversationStore, owner: str, sharing_on: bool, lang: str) -> None:
    """The shared conversation, read-only, or why it cannot be shown; ends the run."""
    token = str(st.query_params.get(URL_KEY) or "")
    shared: Shared | None = None
    if not sharing_on:
        st.info(t(lang, "sharing_off"), icon=":material/link_off:")
    else:
        try:
            shared = store.shares.open(token) if plausible_token(token) else None
        except SQLAlchemyError:
            log.exception("could not read a shared conversation")  # never the token
            st.error(t(lang, "database_down"), icon=":material/database:")
            st.stop()
        if shared is None:  # unknown and revoked read the same: no oracle for tokens
            st.warning(t(lang, "shared_not_found"), icon=":material/link_off:")
    if shared is not None:
        _snapshot(shared, lang)
    row = st.container(horizontal=True, gap="small")
    if shared is not None:
        row.button(
            t(lang, "continue_in_own"),
            key="continue_in_own",
            type="primary",
            icon=":material/content_copy:",
            help=t(lang, "continue_in_own_help"),
            on_click=_continue,
            args=(store, owner, shared.conversation, lang),
        )
    row.button(
        t(lang, "back_to_chats"),
        key="back_to_chats",
        icon=":material/forum:",
        on_click=_leave,
    )
    st.stop()


def _snapshot(shared: Shared, lang: str) -> None:
    """Rendered as the chat renders settled messages: plain `st.markdown`, never HTML."""
    conversation = shared.conversation
    st.title(safe_markdown.safe(conversation.display_title))
    when = datetime.fromtimestamp(shared.created_at, browser_zone())  # i18n writes it
    if shared.shared_by:  # only when they chose to show it
        name = escaped(shared.shared_by)
        st.caption(":material/share: " + t(lang, "shared_by", name=name, date=when))
    else:
        st.caption(":material/share: " + t(lang, "shared_by_someone", date=when))
    if conversation.system_prompt:
        with st.expander(t(lang, "system_prompt"), icon=":material/tune:"):
            st.text(conversation.system_prompt)
    for message in conversation.messages:
        with st.chat_message(message.role, avatar=AVATARS[message.role]):
            safe_markdown.show(message.text)
            if message.attachments:  # names and sizes; the text only if the sharer chose
                chips(message, lang)
            if message.status in (Status.STOPPED, Status.INTERRUPTED):
                st.caption(":material/stop_circle: " + t(lang, "status_stopped_label"))
            elif message.status is Status.FAILED:
                st.caption(":material/error: " + t(lang, "status_failed_label"))


@guarded
def _continue(store: ConversationStore, owner: str, shared: Conversation, lang: str) -> None:
    """Copy the snapshot into the visitor's own conversations, and open the copy."""
    copy = from_json(to_json(shared).encode())  # a separate object: the snapshot stays as is
    copy.renew_ids()
    copy.created_at = time.time()
    Journal(store, owner).create(copy)
    audit("shared_conversation_copied", owner, conversation=copy.id)
    _leave()
    session.open_conversation(copy.id)
    title = safe_markdown.safe(copy.display_title)
    st.toast(t(lang, "shared_copied", title=title), icon=":material/content_copy:")


@guarded
def _leave() -> None:
    if URL_KEY in st.query_params:
        del st.query_params[URL_KEY]
