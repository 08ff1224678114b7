"""Liaobots Chat: the Streamlit page. Layout and wiring only; the logic lives in `chatpage`."""

from __future__ import annotations

import os

import streamlit as st

from chatpage import session, views
from chatpage.access import identify
from chatpage.backend import client_for
from chatpage.conversation import ErrorInfo
from chatpage.i18n import pick_language, t
from chatpage.library import storage_failed_in_callback
from chatpage.live import watch
from chatpage.persistence import Journal, open_store
from chatpage.quota import Gate
from chatpage.reply import produce_reply, show_failure
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
conversation = session.conversation(journal)
viewed = conversation.leaf_id  # what this tab showed: a message sent now goes after it
still_stored = session.refresh(conversation, journal)
written_elsewhere = conversation.streaming()

# Read the message first, so the conversation is stored and listed before the sidebar is drawn.
session.restore_input()
prompt = st.chat_input(
    t(lang, "input_placeholder"),
    key=session.INPUT_KEY,
    on_submit=session.check_submitted,
    args=(settings.message_limit, journal),
    disabled=written_elsewhere is not None,
)
intent = session.take_intent()
if prompt is not None:
    intent = session.Intent("send", viewed, prompt)
    session.set_editing(None)
try:
    pending = session.carry_out(intent, conversation, journal)
except ConversationGone:  # deleted in the instant since the input was checked
    session.give_back(intent.text if intent else "", ErrorInfo("conversation_deleted"))
    pending = None
refused = session.take_refused_input()

choices = views.sidebar(settings, visitor, conversation, lang, journal)
if session.take_not_found():
    st.warning(t(lang, "not_found"), icon=":material/search_off:")
if session.take_gone():
    st.warning(t(lang, "deleted_elsewhere"), icon=":material/delete:")
if journal.changed_elsewhere:
    st.info(t(lang, "changed_elsewhere"), icon=":material/sync:")
if choices.backend.demo:
    st.info(t(lang, "demo_banner"), icon=":material/science:")
if refused is not None:
    show_failure(refused, lang)

if not conversation.messages:
    st.caption(t(lang, "empty_state"))

continuing = pending == "continue"
deferred = views.history(
    conversation,
    lang,
    busy=pending is not None,
    hide_last=continuing,
    limit=settings.message_limit,
    journal=journal,
)

if pending is not None:
    with st.chat_message("assistant", avatar=views.AVATARS["assistant"]):
        body, controls = st.container(), st.empty()
        controls.button(t(lang, "stop"), icon=":material/stop_circle:", key="stop")
        with body:
            reply = produce_reply(
                conversation,
                client_for(choices.backend),
                lang,
                continuing=conversation.last if continuing else None,
                journal=journal,
                preflight=Gate(settings, store, visitor.quota_key),
            )
        with controls.container():
            views.message_controls(st.empty(), conversation, reply, lang)
            views.actions(reply, lang)
    views.controls_after(deferred, conversation, lang)
    session.remember_in_url(conversation)
if conversation.revision and still_stored and conversation.streaming() is None:
    watch(journal, conversation.id, conversation.revision)  # follow other windows' changes
if journal.failed or storage_failed_in_callback():
    st.warning(t(lang, "storage_failed"), icon=":material/database:")
