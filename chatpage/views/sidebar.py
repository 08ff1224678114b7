"""The sidebar: the connection, the conversations and their downloads.

Every text a person or the model wrote is shown with plain `st.markdown` (never
`unsafe_allow_html`), so markup in a title is shown, not run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.delta_generator import DeltaGenerator

from chatpage import session
from chatpage.access.identity import Visitor
from chatpage.access.limits import SYSTEM_PROMPT_MAX_CHARS, without_controls
from chatpage.backend import (
    CODE_INPUT,
    DEMO_TOGGLE,
    Backend,
    ServiceInfo,
    choose_backend,
    continue_as_guest,
    end_guest_session,
    forget_service_info,
    service_info,
    wants_guest,
)
from chatpage.data.conversation import Conversation
from chatpage.data.export import file_stem, to_markdown
from chatpage.data.failures import describe, explain
from chatpage.database.demo_usage import ImportBound
from chatpage.database.sharing import sharer
from chatpage.i18n import LANGUAGES, t
from chatpage.journal import Journal
from chatpage.settings import Settings
from chatpage.views import projects, shortcuts
from chatpage.views.library import Listed, conversation_list
from chatpage.views.tuning import tuning_menu

log = logging.getLogger(__name__)




@dataclass(frozen=True)
class SidebarChoices:
    backend: Backend
    info: ServiceInfo  # the models the bar at the top of the chat offers (`compare.py`)
    listed: Listed
    downloads: DeltaGenerator  # the place of the export buttons


def show(
    settings: Settings,
    visitor: Visitor,
    conversation: Conversation,
    lang: str,
    journal: Journal,
) -> SidebarChoices:
    with st.sidebar:
        st.title(t(lang, "page_title"))
        if visitor.name:
            st.caption(":material/person: " + t(lang, "signed_in_as", name=visitor.name))
        if visitor.signed_in:
            st.button(t(lang, "sign_out"), icon=":material/logout:", on_click=st.logout)
        if visitor.session is not None:
            st.caption(":material/groups: " + t(lang, "shared_page_note"))
        st.button(
            t(lang, "new_chat"),
            icon=":material/edit_square:",
            on_click=session.start_new_conversation,
            width="stretch",
            shortcut=shortcuts.NEW_CHAT,
        )
        st.selectbox(
            t(lang, "language"),
            options=list(LANGUAGES),
            format_func=LANGUAGES.get,
            key="lang",
            persist_state="session",  # kept while on another page (the usage page)
        )
        st.subheader(t(lang, "sidebar_connection"))
        use_demo = st.toggle(
            t(lang, "use_demo"),
            value=settings.offline_demo,
            key=DEMO_TOGGLE,
            on_change=forget_service_info,
            persist_state="session",
        )
        pasted = None
        if settings.public_demo:  # the operator's code: nothing to see, nothing to change
            demo = settings.demo
            st.caption(
                t(
                    lang,
                    "public_demo_note",
                    per_minute=demo.per_minute,
                    per_day=demo.per_day,
                    hours=f"{demo.retention_hours:g}",
                )
            )
        elif not use_demo:
            pasted = st.text_input(
                t(lang, "auth_code"),
                type="password",
                key=CODE_INPUT,
                help=t(lang, "auth_code_help"),
                placeholder=t(lang, "auth_code_override") if settings.has_server_code else "",
                on_change=forget_service_info,
                persist_state="session",
            ).strip()
            if settings.has_server_code and not pasted:
                st.caption(t(lang, "auth_code_from_server"))
        backend = choose_backend(settings, pasted or None, use_demo, wants_guest(settings))
        info = service_info(backend)
        _connection_status(backend, info, lang)
        _guest_controls(settings, backend, lang)
        # Drawn only while open: a page load pays for one button, not a slider and a library.
        # A demo visitor's things last a day: the built-in prompts, nothing to save.
        tuning_menu(journal, conversation, lang, can_save=not settings.public_demo)
        conversation.system_prompt = without_controls(
            st.text_area(
                t(lang, "system_prompt"),
                value=conversation.system_prompt,
                max_chars=SYSTEM_PROMPT_MAX_CHARS,
                help=t(lang, "system_prompt_help"),
                key=f"system_prompt_{conversation.id}",
            )
        )
        downloads = st.empty()  # the chat fragment fills it: the exports follow each message
        share_as = sharer(settings.public_demo, visitor.name, st.context.url)
        listed = conversation_list(
            journal,
            conversation.id,
            lang,
            share_as,
            _import_bound(settings, visitor, journal),
            (settings.max_file_bytes, settings.message_limit),  # a project's files' bounds
        )
        shortcuts.shortcut_list(lang)
    return SidebarChoices(backend=backend, info=info, listed=listed, downloads=downloads)


def _import_bound(settings: Settings, visitor: Visitor, journal: Journal) -> ImportBound | None:
    """A public demo's visitor imports so many conversations and bytes a day; others as they
    like (their conversations last)."""
    if not settings.public_demo or visitor.quota_key is None or visitor.admin:
        return None
    demo = settings.demo
    return journal.store.demo_imports.bound(
        visitor.quota_key, demo.imports_per_day, demo.import_bytes_per_day
    )


def _connection_status(backend: Backend, info: ServiceInfo, lang: str) -> None:
    if backend.demo:
        st.caption(":material/science: " + t(lang, "status_demo"))
    elif backend.guest:
        _guest_status(info, lang)
    elif not backend.auth_code:
        st.info(t(lang, "auth_code_missing"), icon=":material/key:")
    elif info.account_error is not None:
        _, text = explain(describe(info.account_error), lang)
        st.caption(":material/error: " + t(lang, "status_checking_failed", error=text))
    elif info.balance is not None:
        st.caption(":material/check_circle: " + t(lang, "status_connected", balance=info.balance))
    else:
        st.caption(":material/check_circle: " + t(lang, "status_connected_no_balance"))


def _guest_status(info: ServiceInfo, lang: str) -> None:
    if info.account_error is not None:
        _, text = explain(describe(info.account_error), lang)
        st.caption(":material/error: " + t(lang, "status_checking_failed", error=text))
    elif info.guest_not_signed_in:
        st.caption(":material/person: " + t(lang, "status_guest_at_first_message"))
    elif info.balance is not None:
        st.caption(":material/person: " + t(lang, "status_guest", balance=info.balance))
    else:
        st.caption(":material/person: " + t(lang, "status_guest_no_balance"))


def _guest_controls(settings: Settings, backend: Backend, lang: str) -> None:
    """With no code in use, one click signs this browser session in as a guest."""
    if backend.demo:
        return
    if backend.guest:
        if not settings.guest:  # a page run on guests has nothing to go back to
            st.button(
                t(lang, "end_guest"),
                key="end_guest",
                icon=":material/logout:",
                type="tertiary",
                on_click=end_guest_session,
            )
    elif not backend.auth_code:
        st.button(
            t(lang, "continue_as_guest"),
            key="continue_as_guest",
            icon=":material/person:",
            type="primary",
            help=t(lang, "guest_help"),
            on_click=continue_as_guest,
        )


def downloads(
    slot: DeltaGenerator, conversation: Conversation, journal: Journal, lang: str
) -> None:
    """Markdown and JSON exports of the conversation, made when clicked, from the store.

    Making them only on a click keeps every run's cost independent of the conversation's
    length; reading the store then gives what was saved last, the branch on show included.
    """
    if not conversation.messages:
        slot.empty()
        return

    def current() -> Conversation:
        try:
            stored = journal.store.load(conversation.id, journal.owner)
        except SQLAlchemyError:
            log.exception("could not load a conversation to export")
            stored = None
        return stored if stored is not None else conversation

    stem = file_stem(conversation)
    left, right = slot.container().columns(2)
    left.download_button(
        t(lang, "download_md"),
        data=lambda: to_markdown(current(), lang),
        on_click="ignore",
        file_name=f"{stem}.md",
        mime="text/markdown",
        icon=":material/download:",
        help=t(lang, "download_help"),
        width="stretch",
    )
    right.download_button(
        t(lang, "download_json"),
        data=lambda: projects.export_json(current(), journal),
        on_click="ignore",
        file_name=f"{stem}.json",
        mime="application/json",
        icon=":material/download:",
        help=t(lang, "download_help"),
        width="stretch",
    )
