"""The chat's settings, at the top of the chat: its system prompt, temperature and saved
prompts, which belong to the conversation (the sidebar is for the conversations).

Drawn only while open: a page load pays for one button, not a text area, a slider and a
prompt library (on a busy process a full run's cost is what a page load waits for). A chosen
prompt becomes the system prompt, in the text area above it. An empty chat offers a few
saved prompts to start from (`starters`).
"""

from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.delta_generator import DeltaGenerator

from chatpage.access.limits import SYSTEM_PROMPT_MAX_CHARS, without_controls
from chatpage.data.conversation import Conversation
from chatpage.database.prompts import NAME_MAX_CHARS, PROMPTS_MAX, Prompt, builtin_prompts
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.views import guard
from chatpage.views.guard import guarded
from chatpage.views.safe_markdown import safe

log = logging.getLogger(__name__)


def tuning_menu(
    journal: Journal, conversation: Conversation, lang: str, row: DeltaGenerator, *, can_save: bool
) -> None:
    """The menu's button, at the right of the chat's top `row`; its contents only while open."""
    bar = row.container(
        horizontal=True, horizontal_alignment="right", width="content", key="chat_bar"
    )
    menu = bar.popover(
        t(lang, "conversation_settings"),
        icon=":material/tune:",
        key=SETTINGS_MENU,
        on_change="rerun",
        help=t(lang, "conversation_settings_help"),
    )
    if not menu.open:
        return
    with menu:
        conversation.system_prompt = without_controls(
            st.text_area(
                t(lang, "system_prompt"),
                value=conversation.system_prompt,
                max_chars=SYSTEM_PROMPT_MAX_CHARS,
                help=t(lang, "system_prompt_help"),
                key=f"system_prompt_{conversation.id}",
            )
        )
        conversation.temperature = _temperature_picker(conversation, lang)
        with guard.region("prompts", lang):
            prompt_picker(journal, conversation, lang, can_save=can_save)


STARTERS = 4  # prompts an empty chat offers: the built-in ones first, then the person's own
_PROMPT_CHOICE = "prompt_choice"
SETTINGS_MENU = "conversation_settings"
_PROMPT_NAME = "prompt_name"


def prompt_picker(
    journal: Journal, conversation: Conversation, lang: str, *, can_save: bool = True
) -> None:
    """Choose a saved prompt for this conversation; save the one written; delete one's own."""
    mine = []
    try:
        mine = journal.store.prompts.list(journal.owner) if can_save else []
    except SQLAlchemyError:
        log.exception("could not read saved prompts")
    choices = {p.id: p for p in (*builtin_prompts(lang), *mine)}
    st.selectbox(
        t(lang, "saved_prompts"),
        options=list(choices),
        index=None,
        placeholder=t(lang, "use_prompt"),
        format_func=lambda i: choices[i].name,
        key=_PROMPT_CHOICE,
        on_change=_use_prompt,
        args=(conversation, choices),
    )
    if not can_save:
        return
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    row.text_input(t(lang, "prompt_name"), max_chars=NAME_MAX_CHARS, key=_PROMPT_NAME)
    row.button(
        t(lang, "save_prompt"),
        key="save_prompt",
        icon=":material/bookmark_add:",
        on_click=_save_prompt,
        args=(journal, conversation, lang),
    )
    if mine:
        st.caption(t(lang, "my_prompts"))
    for prompt in mine:
        st.button(
            t(lang, "delete_prompt", name=prompt.name),
            key=f"delete_prompt_{prompt.id}",
            icon=":material/delete:",
            type="tertiary",
            on_click=_delete_prompt,
            args=(journal, prompt, lang),
        )


@guarded
def _use_prompt(conversation: Conversation, choices: dict[str, Prompt]) -> None:
    chosen = choices.get(st.session_state.get(_PROMPT_CHOICE) or "")
    st.session_state[_PROMPT_CHOICE] = None  # a menu, not a state: ready for the next choice
    if chosen is None:
        return
    conversation.system_prompt = chosen.text
    # The text area is drawn anew with the conversation's prompt as its value.
    st.session_state.pop(f"system_prompt_{conversation.id}", None)


@guarded
def _save_prompt(journal: Journal, conversation: Conversation, lang: str) -> None:
    """Read the name and the text when the button is clicked, not when it was drawn."""
    name = str(st.session_state.get(_PROMPT_NAME) or "")
    text = str(st.session_state.get(f"system_prompt_{conversation.id}", "")).strip()
    text = without_controls(text)[:SYSTEM_PROMPT_MAX_CHARS]
    if not text:
        st.toast(t(lang, "prompt_nothing_to_save"), icon=":material/info:")
        return
    name = without_controls(name).strip()
    if not name:
        st.toast(t(lang, "prompt_needs_name"), icon=":material/info:")
        return
    try:
        saved = journal.store.prompts.save(journal.owner, name, text)
    except SQLAlchemyError:
        log.exception("could not save a prompt")
        st.toast(t(lang, "storage_failed"), icon=":material/database:")
        return
    if saved is None:
        st.toast(t(lang, "prompt_too_many", limit=PROMPTS_MAX), icon=":material/block:")
        return
    st.session_state.pop(_PROMPT_NAME, None)
    st.toast(t(lang, "prompt_saved", name=saved.name), icon=":material/bookmark_added:")


@guarded
def _delete_prompt(journal: Journal, prompt: Prompt, lang: str) -> None:
    try:
        journal.store.prompts.delete(journal.owner, prompt.id)
    except SQLAlchemyError:
        log.exception("could not delete a prompt")
        st.toast(t(lang, "storage_failed"), icon=":material/database:")
        return
    st.toast(t(lang, "prompt_deleted", name=prompt.name), icon=":material/delete:")


TEMPERATURES: tuple[float | None, ...] = (None, *(round(x * 0.1, 1) for x in range(21)))


def _temperature_picker(conversation: Conversation, lang: str) -> float | None:
    """The conversation's temperature: the service's default, or 0 to 2 in steps of 0.1."""
    current = conversation.temperature
    if current not in TEMPERATURES:
        current = min(TEMPERATURES[1:], key=lambda x: abs(x - current))  # type: ignore[operator]
    return st.select_slider(
        t(lang, "temperature"),
        options=TEMPERATURES,
        value=current,
        format_func=lambda x: t(lang, "temperature_default") if x is None else f"{x:.1f}",
        help=t(lang, "temperature_help"),
        key=f"temperature_{conversation.id}",
    )


def starters(journal: Journal, conversation: Conversation, lang: str, *, can_save: bool) -> None:
    """In an empty chat: a few saved prompts; one click makes it this chat's system prompt."""
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
            help=safe(prompt.text[:300]),
            on_click=_start_from,
            args=(conversation, prompt, lang),
        )


@guarded
def _start_from(conversation: Conversation, prompt: Prompt, lang: str) -> None:
    conversation.system_prompt = prompt.text
    st.session_state.pop(f"system_prompt_{conversation.id}", None)  # the box shows it anew
    st.toast(t(lang, "prompt_in_use", name=prompt.name), icon=":material/bookmark:")
