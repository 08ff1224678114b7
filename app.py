"""Liaobots Chat: the Streamlit page. Layout and wiring only; the logic lives in `chatpage`."""

from __future__ import annotations

import os

import streamlit as st

from chatpage import session, views
from chatpage.access import identify
from chatpage.backend import client_for
from chatpage.i18n import pick_language, t
from chatpage.library import storage_failed_in_callback
from chatpage.persistence import Journal, open_store
from chatpage.quota import Gate
from chatpage.reply import produce_reply, show_failure
from chatpage.settings import load_settings

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

# Read the message first, so the conversation is stored and listed before the sidebar is drawn.
prompt = st.chat_input(
    t(lang, "input_placeholder"),
    key=session.INPUT_KEY,
    on_submit=session.check_submitted,
    args=(settings.message_limit,),
)
pending = session.take_pending()
refused = session.take_refused_input()
if prompt is not None:
    session.set_editing(False)
    conversation.add_user(prompt)
    journal.save(conversation)
    session.remember_in_url(conversation)
    pending = "reply"

choices = views.sidebar(settings, visitor, conversation, lang, journal)
if session.take_not_found():
    st.warning(t(lang, "not_found"), icon=":material/search_off:")
if choices.backend.demo:
    st.info(t(lang, "demo_banner"), icon=":material/science:")
if refused is not None:
    show_failure(refused, lang)

if not conversation.messages:
    st.caption(t(lang, "empty_state"))

continuing = pending == "continue"
edit_slot = views.history(
    conversation,
    lang,
    busy=pending is not None,
    hide_last=continuing,
    limit=settings.message_limit,
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
            views.actions(reply, lang)
    if edit_slot is not None:
        views.edit_button(edit_slot, conversation, lang)
    session.remember_in_url(conversation)
if journal.failed or storage_failed_in_callback():
    st.warning(t(lang, "storage_failed"), icon=":material/database:")
