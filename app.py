"""Liaobots Chat: the Streamlit page. Layout and wiring only; the logic lives in `chatpage`."""

from __future__ import annotations

import os

import streamlit as st

from chatpage import session, views
from chatpage.backend import client_for
from chatpage.i18n import pick_language, t
from chatpage.reply import produce_reply
from chatpage.settings import load_settings

st.set_page_config(page_title="Liaobots Chat", page_icon=":material/forum:", layout="centered")

settings = load_settings([st.secrets, os.environ])
if "lang" not in st.session_state:
    st.session_state.lang = pick_language(st.context.locale)
lang: str = st.session_state.lang

conversation = session.conversation()
choices = views.sidebar(settings, conversation, lang)

if choices.backend.demo:
    st.info(t(lang, "demo_banner"), icon=":material/science:")

prompt = st.chat_input(
    t(lang, "input_placeholder", model=choices.model.name), max_chars=settings.max_message_chars
)
pending = session.take_pending()
if prompt is not None:
    if prompt.strip():
        session.set_editing(False)
        conversation.add_user(prompt)
        pending = "reply"
    else:
        st.toast(t(lang, "empty_message"), icon=":material/info:")

if not conversation.messages:
    st.caption(t(lang, "empty_state"))

continuing = pending == "continue"
edit_slot = views.history(conversation, lang, busy=pending is not None, hide_last=continuing)

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
            )
        with controls.container():
            views.actions(reply, lang)
    if edit_slot is not None:
        views.edit_button(edit_slot, conversation, lang)
