"""The sidebar: New chat, the settings' gear, the conversations and their downloads.

Language and connection are in the Settings dialog (settings_dialog); the chat's own
settings at the top of the chat (tuning), beside the model bar (compare).

Every text a person or the model wrote is shown with plain `st.markdown` (never
`unsafe_allow_html`), so markup in a title is shown, not run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from chatpage import session
from chatpage.access.identity import Visitor
from chatpage.backend import Backend, ServiceInfo, chosen_backend, service_info
from chatpage.data.conversation import Conversation
from chatpage.database.demo_usage import ImportBound
from chatpage.database.sharing import sharer
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.settings import Settings
from chatpage.views import settings_dialog, shortcuts
from chatpage.views.conversation_list.exporting import download_buttons
from chatpage.views.conversation_list.library import Listed, conversation_list

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
        # The title and the gear on one line: language and connection are in the dialog.
        with st.container(horizontal=True, wrap=False, vertical_alignment="center"):
            st.title(t(lang, "page_title"))
            settings_dialog.gear(lang)
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
        backend = chosen_backend(settings)
        info = service_info(backend)
        settings_dialog.status(backend, info, lang)
        settings_dialog.show_if_open(settings, backend, info, lang)
        share_as = sharer(settings.public_demo, visitor.name, st.context.url)
        listed = conversation_list(
            journal,
            conversation.id,
            lang,
            share_as,
            _import_bound(settings, visitor, journal),
            (settings.max_file_bytes, settings.message_limit),  # a project's files' bounds
        )
        downloads = st.empty()  # the chat fragment fills it: the exports follow each message
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


def downloads(
    slot: DeltaGenerator, conversation: Conversation, journal: Journal, lang: str
) -> None:
    """Under the list: the open conversation's downloads, once it has messages."""
    if not conversation.messages:
        slot.empty()
        return
    download_buttons(
        slot.container(),
        conversation.id,
        conversation.display_title,
        journal,
        lang,
        unsaved=conversation,
    )
