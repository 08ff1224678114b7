"""The page's pieces: sidebar, message bubbles and the buttons under the last reply.

Every text a person or the model wrote is shown with plain `st.markdown`, never with
`unsafe_allow_html`, so markup in a message or a reply is shown, not run.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from liaobots_core import Model

from . import session
from .access import Visitor
from .backend import Backend, ServiceInfo, choose_backend, forget_service_info, service_info
from .conversation import Conversation, Message, Status
from .export import file_stem, to_json, to_markdown
from .failures import describe, explain
from .i18n import LANGUAGES, t
from .library import conversation_list
from .limits import SYSTEM_PROMPT_MAX_CHARS, without_controls
from .persistence import Journal
from .reply import show_failure
from .settings import Settings

AVATARS = {"user": ":material/person:", "assistant": ":material/smart_toy:"}


@dataclass(frozen=True)
class SidebarChoices:
    backend: Backend
    info: ServiceInfo
    model: Model


def stop_for_problems(problems: tuple[str, ...], lang: str) -> None:
    """A misconfigured page says what to fix, and does nothing else."""
    st.error(t(lang, "config_problems"), icon=":material/settings_alert:")
    st.markdown("\n".join(f"- {problem}" for problem in problems))
    st.stop()


def stop_for_database(lang: str) -> None:
    """The store cannot be opened: say so plainly (the next visit tries again)."""
    st.error(t(lang, "database_down"), icon=":material/database:")
    st.stop()


def stop_at_gate(settings: Settings, lang: str) -> None:
    """The only thing shown to someone not (yet) allowed in: sign in, or a refusal."""
    if settings.access == "login":
        st.title(t(lang, "page_title"))
        st.write(t(lang, "sign_in_prompt"))
        st.button(t(lang, "sign_in"), type="primary", icon=":material/login:", on_click=st.login)
    else:
        st.error(t(lang, "refused"), icon=":material/lock:")
    st.stop()


def sidebar(
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
        st.button(
            t(lang, "new_chat"),
            icon=":material/edit_square:",
            on_click=session.start_new_conversation,
            width="stretch",
        )
        st.selectbox(
            t(lang, "language"), options=list(LANGUAGES), format_func=LANGUAGES.get, key="lang"
        )
        st.subheader(t(lang, "sidebar_connection"))
        use_demo = st.toggle(
            t(lang, "use_demo"),
            value=settings.offline_demo,
            key="use_demo",
            on_change=forget_service_info,
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
                key="auth_code_input",
                help=t(lang, "auth_code_help"),
                placeholder=t(lang, "auth_code_override") if settings.has_server_code else "",
                on_change=forget_service_info,
            ).strip()
            if settings.has_server_code and not pasted:
                st.caption(t(lang, "auth_code_from_server"))
        backend = choose_backend(settings, pasted or None, use_demo)
        info = service_info(backend)
        _connection_status(backend, info, lang)
        model = _model_picker(info, conversation, lang)
        conversation.system_prompt = without_controls(
            st.text_area(
                t(lang, "system_prompt"),
                value=conversation.system_prompt,
                max_chars=SYSTEM_PROMPT_MAX_CHARS,
                help=t(lang, "system_prompt_help"),
                key=f"system_prompt_{conversation.id}",
            )
        )
        if conversation.messages:
            _downloads(conversation, lang)
        conversation_list(journal, conversation.id, lang)
    return SidebarChoices(backend=backend, info=info, model=model)


def _connection_status(backend: Backend, info: ServiceInfo, lang: str) -> None:
    if backend.demo:
        st.caption(":material/science: " + t(lang, "status_demo"))
    elif not backend.auth_code:
        st.info(t(lang, "auth_code_missing"), icon=":material/key:")
    elif info.account_error is not None:
        _, text = explain(describe(info.account_error), lang)
        st.caption(":material/error: " + t(lang, "status_checking_failed", error=text))
    elif info.balance is not None:
        st.caption(":material/check_circle: " + t(lang, "status_connected", balance=info.balance))
    else:
        st.caption(":material/check_circle: " + t(lang, "status_connected_no_balance"))


def _model_picker(info: ServiceInfo, conversation: Conversation, lang: str) -> Model:
    models = {m.id: m for m in info.models}
    ids = list(models)
    if conversation.model_id not in models:
        conversation.model_id = ids[0]
    chosen = st.selectbox(
        t(lang, "model"),
        options=ids,
        index=ids.index(conversation.model_id),
        format_func=lambda model_id: models[model_id].name,
        key=f"model_{conversation.id}",
    )
    conversation.model_id = chosen
    if not info.models_from_server:
        st.caption(t(lang, "models_from_catalog"))
    return models[chosen]


def _downloads(conversation: Conversation, lang: str) -> None:
    stem = file_stem(conversation)
    left, right = st.columns(2)
    left.download_button(
        t(lang, "download_md"),
        data=to_markdown(conversation, lang),
        file_name=f"{stem}.md",
        mime="text/markdown",
        icon=":material/download:",
        help=t(lang, "download_help"),
        width="stretch",
    )
    right.download_button(
        t(lang, "download_json"),
        data=to_json(conversation),
        file_name=f"{stem}.json",
        mime="application/json",
        icon=":material/download:",
        help=t(lang, "download_help"),
        width="stretch",
    )


def history(
    conversation: Conversation, lang: str, *, busy: bool, hide_last: bool, limit: int
) -> st.delta_generator.DeltaGenerator | None:
    """Every message, with the buttons of the last question and answer.

    While a reply is about to stream (`busy`), the last question's Edit button is left for
    later: the returned slot is where it goes once the reply has settled.
    """
    messages = conversation.messages[:-1] if hide_last else conversation.messages
    last_user = conversation.last_of("user")
    edit_slot = None
    for message in messages:
        with st.chat_message(message.role, avatar=AVATARS[message.role]):
            if message is last_user and session.is_editing() and not busy:
                _edit_form(message, lang, limit)
                continue
            st.markdown(message.text)
            if message is last_user:
                edit_slot = st.empty()
                if not busy:
                    edit_button(edit_slot, conversation, lang)
            elif message is conversation.last and not busy:
                actions(message, lang)
    return edit_slot


def actions(message: Message, lang: str) -> None:
    """What can be done with the last message, by how it ended."""
    if message.role == "user":
        return
    if message.error is not None:
        show_failure(message.error, lang)
    elif message.status is Status.STOPPED:
        st.caption(":material/stop_circle: " + t(lang, "stopped_note"))
    elif message.status is Status.INTERRUPTED:
        st.caption(":material/history: " + t(lang, "interrupted_note"))
    columns = st.columns(3 if message.status is not Status.COMPLETE else 1)
    if message.status is not Status.COMPLETE and message.text:
        columns[-1].button(
            t(lang, "continue"),
            icon=":material/play_arrow:",
            key="action_continue",
            on_click=session.continue_reply,
        )
    label = "retry" if message.status is Status.FAILED else "regenerate"
    columns[0].button(
        t(lang, label),
        icon=":material/refresh:",
        key="action_regenerate",
        on_click=session.regenerate,
    )


def edit_button(
    slot: st.delta_generator.DeltaGenerator, conversation: Conversation, lang: str
) -> None:
    """Offer to edit the last question once its answer has settled.

    A question left with no answer at all (the page stopped before asking) also gets Retry.
    """
    last = conversation.last
    if last is None or not last.settled:
        return
    with slot.container():
        left, right, _ = st.columns([1, 1, 4]) if last.role == "user" else (st, None, None)
        left.button(
            t(lang, "edit"),
            icon=":material/edit:",
            key="action_edit",
            on_click=session.set_editing,
            args=(True,),
        )
        if right is not None:
            right.button(
                t(lang, "retry"),
                icon=":material/refresh:",
                key="action_regenerate",
                on_click=session.regenerate,
            )


def _edit_form(message: Message, lang: str, limit: int) -> None:
    st.text_area(t(lang, "edit_label"), value=message.text, key="edit_text")
    left, right, _ = st.columns([2, 1, 3])
    left.button(
        t(lang, "save_and_send"),
        type="primary",
        on_click=session.save_edit,
        args=("edit_text", limit),
    )
    right.button(t(lang, "cancel"), on_click=session.set_editing, args=(False,))
