"""What an empty chat offers in the main area: the way in, and prompts to start from.

A first visitor with no code (none configured, none pasted, no guest session) sees here, not
behind the sidebar's `»`, how to start: continue as a guest, paste a code, or try the offline
demo. Everyone sees a few saved prompts: one click makes it the new chat's system prompt.
"""

from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from chatpage.backend import DEMO_TOGGLE, Backend, forget_service_info
from chatpage.data.conversation import Conversation
from chatpage.database.prompts import Prompt, builtin_prompts
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.settings import Settings
from chatpage.views import settings_dialog
from chatpage.views.guard import guarded
from chatpage.views.safe_markdown import safe

STARTERS = 4  # prompts offered: the built-in ones first, then the person's own
_WELCOME_CODE = "welcome_code"
log = logging.getLogger(__name__)


def show(
    settings: Settings,
    backend: Backend,
    journal: Journal,
    conversation: Conversation,
    lang: str,
) -> None:
    """Drawn by the chat fragment while the conversation has no message."""
    settings_dialog.redraw_if_changed()  # a way in was taken here: the whole page follows
    if needs_a_way_in(settings, backend):
        _way_in(settings, lang)
    else:
        st.caption(t(lang, "empty_state"))
    _starters(journal, conversation, lang, can_save=not settings.public_demo)


def needs_a_way_in(settings: Settings, backend: Backend) -> bool:
    return not (backend.demo or backend.guest or backend.auth_code or settings.public_demo)


def _way_in(settings: Settings, lang: str) -> None:
    st.info(t(lang, "auth_code_missing"), icon=":material/key:")
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    with row:
        settings_dialog.guest_button(lang, key="continue_as_guest")
        st.button(
            t(lang, "try_demo"),
            key="try_demo",
            icon=":material/science:",
            help=t(lang, "use_demo"),
            on_click=settings_dialog.changed(_use_demo),
        )
    settings_dialog.code_field(settings, lang, _WELCOME_CODE)


def _use_demo() -> None:
    st.session_state[DEMO_TOGGLE] = True
    forget_service_info()


def _starters(journal: Journal, conversation: Conversation, lang: str, *, can_save: bool) -> None:
    mine: list[Prompt] = []
    try:
        mine = journal.store.prompts.list(journal.owner) if can_save else []
    except SQLAlchemyError:
        log.exception("could not read saved prompts")
    prompts = [*builtin_prompts(lang), *mine][:STARTERS]
    st.caption(t(lang, "start_from_prompt"))
    row = st.container(horizontal=True, gap="small")
    for prompt in prompts:
        row.button(
            safe(prompt.name),  # a person's own name of it is shown, never run
            key=f"starter_{prompt.id}",
            icon=":material/check:" if conversation.system_prompt == prompt.text else None,
            type="secondary",
            help=safe(prompt.text[:300]),
            on_click=_start_from,
            args=(conversation, prompt, lang),
        )


@guarded
def _start_from(conversation: Conversation, prompt: Prompt, lang: str) -> None:
    conversation.system_prompt = prompt.text
    st.session_state.pop(f"system_prompt_{conversation.id}", None)  # the box shows it anew
    st.toast(t(lang, "prompt_in_use", name=prompt.name), icon=":material/bookmark:")
