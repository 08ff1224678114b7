"""Liaobots Chat: the Streamlit app. Layout and wiring only; the logic lives in `chatpage`.

`streamlit run app.py` imports this file as a module, finds `app` (an `st.App`) and serves it:
this same file as the page, plus `/metrics` (chatpage/operations/server.py). Each page run
executes the file as `__main__` (Streamlit's script runner, AppTest too), which draws the page.

A page run is an `st.navigation` entry point: settings, the access gate and the database are
checked first, before any page runs; a shared link (`?share=`) then shows its read-only
snapshot (chatpage/views/pages/shared.py) instead; else the chat (everyone's, the default page)
or, for CHAT_ADMINS alone, the usage page (`app_pages/usage.py`). Nobody else has it in the
navigation or at its URL.
"""

from __future__ import annotations

import base64
import functools
import os
from pathlib import Path

import streamlit as st

from chatpage import runtime, session
from chatpage.access import balance, connection
from chatpage.access.identity import Visitor, identify
from chatpage.database.conversations import ConversationStore
from chatpage.i18n import pick_language, t
from chatpage.journal import Journal, open_store, process_replies
from chatpage.operations import server
from chatpage.settings import Settings, load_settings
from chatpage.views import guard, messages, sidebar, stops, window
from chatpage.views.chat import Page, carry_out, chat
from chatpage.views.compare import model_bar
from chatpage.views.pages import shared, usage
from chatpage.views.tuning import tuning_menu

# The page's own icon, not a `:material/...:` one (every browser would fetch that from
# Google), as a data URL: a file path would be read, hashed and registered as a media file
# on every run (3% of a page load's CPU); the CSP allows `data:` images.
FAVICON = (
    "data:image/png;base64,"
    + base64.b64encode((Path(__file__).parent / "chatpage" / "favicon.png").read_bytes()).decode()
)


def main() -> None:
    st.set_page_config(page_title="Liaobots Chat", page_icon=FAVICON, layout="centered")
    settings = load_settings([st.secrets, os.environ])
    if "lang" not in st.session_state:
        st.session_state.lang = pick_language(st.context.locale)
    lang: str = st.session_state.lang
    if settings.problems:
        stops.stop_for_problems(settings.problems, lang)
    refused = connection.refusal(settings, st.context.headers, st.context.ip_address)
    if refused is not None:  # a foreign host name, or a proxy the page does not trust
        stops.stop_at_boundary(settings, refused, lang, st.context.headers)

    visitor = identify(
        settings,
        headers=st.context.headers,
        user=st.user.to_dict() if settings.access == "login" else None,
        session_key=session.visitor_key(),
        ip_address=st.context.ip_address,
    )
    if visitor is None:
        stops.stop_at_gate(settings, lang)
    session.note_visitor(visitor, settings.access)
    store = open_store(settings)
    if store is None:
        stops.stop_for_database(lang)
    if shared.wanted():  # `?share=`: a read-only snapshot instead of the chat
        shared.show(store, visitor.owner, not settings.public_demo, lang)

    chat_page = functools.partial(show_chat, settings, visitor, store, lang)
    functools.update_wrapper(chat_page, show_chat)  # the page is named after the function
    pages = [st.Page(chat_page, title=t(lang, "nav_chat"), icon=":material/forum:", default=True)]
    if visitor.admin:  # only then is the usage page registered: no link, and no URL, for others
        usage.hand_over(usage.Visit(settings, visitor, store, lang))
        pages.append(
            st.Page(
                "app_pages/usage.py",
                title=t(lang, "nav_usage"),
                icon=":material/monitoring:",
                url_path="usage",
            )
        )
    st.navigation(pages, position="sidebar" if visitor.admin else "hidden").run()


def show_chat(settings: Settings, visitor: Visitor, store: ConversationStore, lang: str) -> None:
    """The chat: the sidebar, the conversation and the input (see chatpage/views/chat.py)."""
    journal = Journal(store, owner=visitor.owner)
    replies = process_replies(settings)
    if session.first_run():
        replies.note_arrival()  # a crowd arriving slows the replies' updates (`update_interval`)
    conversation = session.conversation(journal)
    viewed = conversation.leaf_id  # what this tab showed, before it takes in other windows'
    still_stored = session.refresh(conversation, journal)
    if still_stored:  # however it was opened (a link, an import, back from another page)
        session.remember_in_url(conversation)
    window.open_at_match(conversation, journal)  # a search hit opened it: show that message
    page = functools.partial(
        Page,
        settings,
        visitor,
        store,
        journal,
        replies,
        lang,
        conversation.id,
        viewed,
        stored=still_stored,
    )

    # A button above the last reply (Edit, a version, Retry) re-runs the whole page; what it
    # asked for is done first, so the page shows its outcome. The input and the buttons of the
    # last reply re-run only the chat fragment, which does what they ask itself.
    intent = session.take_intent()
    choices = None
    with guard.region("sidebar", lang):
        choices = sidebar.show(settings, visitor, conversation, lang, journal)
    # The chat's top row, as in ChatGPT: the model (and compare) at the left, the chat's own
    # settings (system prompt, temperature, saved prompts) at the right. Both before the
    # intent is carried out, so a reply it starts uses what they show.
    top = st.container(horizontal=True, vertical_alignment="top", key="chat_top")
    models: tuple[str, ...] = ()
    if choices is not None:
        with guard.region("models", lang):
            models = model_bar(choices.info, conversation, lang, top)
    tuning_menu(journal, conversation, lang, top, can_save=not settings.public_demo)
    carry_out(
        intent, conversation, journal, page(drawn=(), first=0, choices=choices, models=models)
    )

    if choices is not None:
        balance.warn_admins(settings, visitor, choices.info, lang)
        if choices.backend.demo:
            st.info(t(lang, "demo_banner"), icon=":material/science:")
    drawn: tuple[str, ...] = ()
    shown = window.shown(conversation, conversation.messages)  # the latest turns, not all
    with guard.region("conversation", lang):
        drawn = messages.history(
            conversation, lang, limit=settings.message_limit, window=shown, journal=journal
        )
    # The rest, and the input: see chatpage/views/chat.py
    chat(page(drawn=drawn, first=shown.first, choices=choices, models=models))


runtime.install()  # Streamlit's server as the page needs it (chatpage/runtime)
if __name__ != "__main__":  # imported by `streamlit run app.py` to find its server
    app = st.App(__file__, routes=server.ROUTES, lifespan=server.lifespan)
else:  # a page run
    main()
