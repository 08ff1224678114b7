"""Liaobots Chat: the Streamlit page. Layout and wiring only; the logic lives in `chatpage`."""

from __future__ import annotations

import functools
import os

import streamlit as st

from chatpage import guard, reply, session, views
from chatpage.access import identify
from chatpage.backend import client_for
from chatpage.conversation import ErrorInfo
from chatpage.i18n import pick_language, t
from chatpage.library import storage_failed_in_callback
from chatpage.live import watch
from chatpage.persistence import Journal, open_store, process_replies
from chatpage.quota import Gate
from chatpage.settings import load_settings
from chatpage.store import ConversationGone

st.set_page_config(page_title="Liaobots Chat", page_icon=":material/forum:", layout="centered")

settings = load_settings([st.secrets, os.environ])
if "lang" not in st.session_state:
    st.session_state.lang = pick_language(st.context.locale)
lang: str = st.session_state.lang
if settings.problems:
    views.stop_for_problems(settings.problems, lang)

visitor = identify(
    settings,
    headers=st.context.headers,
    user=st.user.to_dict() if settings.access == "login" else None,
    session_key=session.visitor_key(),
    ip_address=st.context.ip_address,
)
if visitor is None:
    views.stop_at_gate(settings, lang)
store = open_store(settings)
if store is None:
    views.stop_for_database(lang)
journal = Journal(store, owner=visitor.owner)
replies = process_replies(settings)
room = functools.partial(replies.check_room, visitor.owner, settings.max_background_replies)
conversation = session.conversation(journal)
viewed = conversation.leaf_id  # what this tab showed: a message sent now goes after it
still_stored = session.refresh(conversation, journal)

# Read the message first, so the conversation is stored and listed before the sidebar is drawn.
session.restore_input()
prompt = st.chat_input(
    t(lang, "input_placeholder"),
    key=session.INPUT_KEY,
    on_submit=session.check_submitted,
    args=(settings.message_limit, journal, room),
)
intent = session.take_intent()
if prompt is not None:
    intent = session.Intent("send", viewed, prompt)
    session.set_editing(None)

pending = None
with guard.region("action", lang):
    try:
        pending = session.carry_out(intent, conversation, journal, replies, room)
    except ConversationGone:  # deleted in the instant since the input was checked
        session.give_back(intent.text if intent else "", ErrorInfo("conversation_deleted"))

choices = None
with guard.region("sidebar", lang):
    choices = views.sidebar(settings, visitor, conversation, lang, journal)
with guard.region("reply", lang):
    if pending is not None and choices is not None:
        try:
            reply.begin_reply(
                conversation,
                client_for(choices.backend),
                continuing=conversation.last if pending == "continue" else None,
                journal=journal,
                replies=replies,
                max_per_person=settings.max_background_replies,
                preflight=Gate(settings, store, visitor.quota_key),
            )
        except ConversationGone:  # deleted in the instant since the input was checked
            session.give_back(intent.text if intent else "", ErrorInfo("conversation_deleted"))
refused = session.take_refused_input()

guard.show_pending(lang)
if session.take_not_found():
    st.warning(t(lang, "not_found"), icon=":material/search_off:")
if session.take_gone():
    st.warning(t(lang, "deleted_elsewhere"), icon=":material/delete:")
if journal.changed_elsewhere:
    st.info(t(lang, "changed_elsewhere"), icon=":material/sync:")
if choices is not None and choices.backend.demo:
    st.info(t(lang, "demo_banner"), icon=":material/science:")
if refused is not None:
    reply.show_failure(refused, lang)

with guard.region("conversation", lang):
    if not conversation.messages:
        st.caption(t(lang, "empty_state"))
    streaming = conversation.streaming()
    task = replies.get(streaming.id) if streaming is not None else None  # by this process
    deferred = views.history(
        conversation,
        lang,
        following=task is not None,
        limit=settings.message_limit,
        journal=journal,
        replies=replies,
    )
    if task is not None:
        views.followed_reply(task, conversation, lang, journal, replies)
        views.controls_after(deferred, conversation, lang)
        session.remember_in_url(conversation)
        journal.refresh(conversation)  # the reply's end moved the stored revision on
        if task.done.is_set():
            journal.seen(conversation.id)  # watched to its end here: not "new" in the list
    if still_stored and conversation.streaming() is None:  # follow other windows' changes
        stored_id = conversation.id if conversation.revision else None
        watch(journal, stored_id, conversation.revision, choices.writing if choices else None)
if journal.failed or storage_failed_in_callback():
    st.warning(t(lang, "storage_failed"), icon=":material/database:")
