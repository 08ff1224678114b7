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
from .live import live_reply
from .persistence import Journal
from .replies import Replies, ReplyTask
from .reply import follow_reply, show_failure
from .settings import Settings

AVATARS = {"user": ":material/person:", "assistant": ":material/smart_toy:"}


@dataclass(frozen=True)
class SidebarChoices:
    backend: Backend
    info: ServiceInfo
    model: Model
    writing: frozenset[str] = frozenset()  # the person's conversations with a reply being written


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
        writing = conversation_list(journal, conversation.id, lang)
    return SidebarChoices(backend=backend, info=info, model=model, writing=writing)


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


Deferred = list[tuple[st.delta_generator.DeltaGenerator, Message]]


def history(
    conversation: Conversation,
    lang: str,
    *,
    following: bool,
    limit: int,
    journal: Journal,
    replies: Replies,
) -> Deferred:
    """The branch on show, each message with its versions (`‹ 2/3 ›`) and its buttons.

    Every question can be edited (a new version of it, the old one kept); the last reply
    gets its actions. When this process is writing the last reply (`following`), it is left
    for the caller to show as it arrives, and the buttons, which would interrupt it, go into
    the returned slots once it has ended (`controls_after`). A reply another process is
    writing is shown growing, read from the store, with only Stop.
    """
    messages = conversation.messages
    shown = messages[:-1] if following else messages
    quiet = conversation.streaming() is not None  # no buttons while a reply is written
    deferred: Deferred = []
    for message in shown:
        with st.chat_message(message.role, avatar=AVATARS[message.role]):
            if message.role == "user" and session.editing() == message.id and not quiet:
                _edit_form(message, lang, limit)
                continue
            if message.status is Status.STREAMING and message is conversation.last:
                live_reply(journal, replies, conversation.id, message.id, lang)
                continue
            st.markdown(message.text)
            slot = st.empty()
            if following:
                deferred.append((slot, message))
                continue
            message_controls(slot, conversation, message, lang, quiet=quiet)
            if message is conversation.last and not quiet:
                with st.empty().container():  # one place, as in `followed_reply`
                    actions(message, lang)
    return deferred


def followed_reply(
    task: ReplyTask, conversation: Conversation, lang: str, journal: Journal, replies: Replies
) -> None:
    """The reply this process is writing, shown as it arrives, with Stop; then its buttons."""
    with st.chat_message("assistant", avatar=AVATARS["assistant"]):
        # The same three places as a settled last reply (text, versions, actions), so nothing
        # of that reply's buttons lingers while this one is written.
        body, controls, _ = st.container(), st.empty(), st.empty()
        controls.button(
            t(lang, "stop"),
            icon=":material/stop_circle:",
            key="stop",
            on_click=session.stop_reply,
            args=(journal, replies, conversation.id, task.id),
        )
        with body:
            follow_reply(task, conversation, lang)
        with controls.container():
            message_controls(st.empty(), conversation, task.reply, lang)
            actions(task.reply, lang)


def controls_after(deferred: Deferred, conversation: Conversation, lang: str) -> None:
    """The buttons left out while a reply streamed, now that it has settled."""
    for slot, message in deferred:
        message_controls(slot, conversation, message, lang)


def actions(message: Message, lang: str) -> None:
    """What can be done with the last reply, by how it ended."""
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
            on_click=session.ask,
            args=("continue", message.id),
        )
    label = "retry" if message.status is Status.FAILED else "regenerate"
    columns[0].button(
        t(lang, label),
        icon=":material/refresh:",
        key="action_regenerate",
        on_click=session.ask,
        args=("regenerate", message.id),
    )


def message_controls(
    slot: st.delta_generator.DeltaGenerator,
    conversation: Conversation,
    message: Message,
    lang: str,
    *,
    quiet: bool = False,
) -> None:
    """A message's versions to switch between, and Edit for a question.

    A question left with no answer at all (the page stopped before asking) also gets Retry.
    Nothing is offered while a reply is being written (`quiet`).
    """
    versions = conversation.siblings(message)
    editable = message.role == "user" and not quiet
    unanswered = message is conversation.last and message.role == "user" and not quiet
    if len(versions) < 2 and not editable:
        slot.empty()
        return
    with slot.container(horizontal=True, gap="small", vertical_alignment="center"):
        if len(versions) > 1:
            _version_switch(versions, message, lang, disabled=quiet)
        if editable:
            st.button(
                t(lang, "edit"),
                icon=":material/edit:",
                key=f"edit_{message.id}",
                type="tertiary",
                on_click=session.set_editing,
                args=(message.id,),
            )
        if unanswered:
            st.button(
                t(lang, "retry"),
                icon=":material/refresh:",
                key="action_regenerate",
                type="tertiary",
                on_click=session.ask,
                args=("regenerate", message.id),
            )


def _version_switch(
    versions: list[Message], message: Message, lang: str, *, disabled: bool
) -> None:
    """`‹ 2 / 3 ›`: the arrows show the neighbouring version (and its newest continuation)."""
    index = next(i for i, m in enumerate(versions) if m.id == message.id)
    _version_arrow(versions, index - 1, "previous", message, lang, disabled=disabled)
    st.caption(t(lang, "version_of", index=index + 1, count=len(versions)), width="content")
    _version_arrow(versions, index + 1, "next", message, lang, disabled=disabled)


def _version_arrow(
    versions: list[Message], target: int, way: str, message: Message, lang: str, *, disabled: bool
) -> None:
    exists = 0 <= target < len(versions)
    st.button(
        "",
        icon=":material/chevron_left:" if way == "previous" else ":material/chevron_right:",
        key=f"{way}_{message.id}",
        type="tertiary",
        help=t(lang, f"{way}_version"),
        disabled=disabled or not exists,
        on_click=session.ask,
        args=("switch", versions[target].id if exists else message.id),
    )


def _edit_form(message: Message, lang: str, limit: int) -> None:
    st.text_area(t(lang, "edit_label"), value=message.text, key=session.EDIT_TEXT_KEY)
    left, right, _ = st.columns([2, 1, 3])
    left.button(
        t(lang, "save_and_send"),
        type="primary",
        on_click=session.save_edit,
        args=(session.EDIT_TEXT_KEY, limit, message.id),
    )
    right.button(t(lang, "cancel"), on_click=session.set_editing, args=(None,))
