"""The page's pieces: sidebar, message bubbles and the buttons under the last reply.

Every text a person or the model wrote is shown with plain `st.markdown`, never with
`unsafe_allow_html`, so markup in a message or a reply is shown, not run; and through
`safe_markdown.show`, so an image in it is a link, not fetched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.delta_generator import DeltaGenerator

from chatpage import session
from chatpage.access.connection import Refusal, host_name
from chatpage.access.identity import Visitor, network_address
from chatpage.access.limits import SYSTEM_PROMPT_MAX_CHARS, human_size, without_controls
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
from chatpage.data.conversation import Conversation, Message, Status
from chatpage.data.export import file_stem, to_json, to_markdown
from chatpage.data.failures import describe, explain
from chatpage.database.demo_imports import ImportBound
from chatpage.database.sharing import sharer
from chatpage.i18n import LANGUAGES, t
from chatpage.journal import Journal
from chatpage.replies.asking import follow_reply, show_failure
from chatpage.replies.live import live_reply
from chatpage.replies.tasks import Replies, ReplyTask
from chatpage.settings import Settings
from chatpage.views.copy_button import copy_button
from chatpage.views.library import Listed, conversation_list
from chatpage.views.safe_markdown import show
from chatpage.views.tuning import tuning_menu
from liaobots_core import Model

log = logging.getLogger(__name__)

AVATARS = {"user": ":material/person:", "assistant": ":material/smart_toy:"}


@dataclass(frozen=True)
class SidebarChoices:
    backend: Backend
    info: ServiceInfo
    model: Model
    listed: Listed
    downloads: DeltaGenerator  # the place of the export buttons


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
    session.refused_at_gate(
        settings.access, network_address(st.context.ip_address, st.context.headers)
    )
    if settings.access == "login":
        st.title(t(lang, "page_title"))
        st.write(t(lang, "sign_in_prompt"))
        for provider in settings.login_providers:  # `[auth]`'s own client, then the named
            named = provider != "default"
            st.button(
                t(lang, "sign_in_with", provider=provider) if named else t(lang, "sign_in"),
                type="primary",
                icon=":material/login:",
                on_click=st.login,
                args=(provider,) if named else (),
                key=f"sign_in_{provider}",
            )
    elif settings.access == "local":
        st.title(t(lang, "local_only_title"))
        st.markdown(t(lang, "local_only_body"))
    else:
        st.error(t(lang, "refused"), icon=":material/lock:")
    st.stop()


def stop_at_boundary(
    settings: Settings, refused: Refusal, lang: str, headers: Mapping[str, str]
) -> None:
    """The page for a connection refused before any identity (chatpage/access/connection.py)."""
    host = None
    if refused == "foreign_host":
        given = next((str(v) for k, v in headers.items() if k.lower() == "host"), "")
        host = host_name(given) or "(not a host name)"
    session.refused_at_gate(
        settings.access,
        network_address(st.context.ip_address, st.context.headers),
        kind=refused,
        host=host,
    )
    if refused == "foreign_host":
        st.title(t(lang, "refused_host_title"))
        st.markdown(t(lang, "refused_host_body"))
    else:
        st.error(t(lang, "refused_proxy"), icon=":material/lock:")
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
        if visitor.session is not None:
            st.caption(":material/groups: " + t(lang, "shared_page_note"))
        st.button(
            t(lang, "new_chat"),
            icon=":material/edit_square:",
            on_click=session.start_new_conversation,
            width="stretch",
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
        model = _model_picker(info, conversation, lang)
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
            journal, conversation.id, lang, share_as, _import_bound(settings, visitor, journal)
        )
    return SidebarChoices(
        backend=backend, info=info, model=model, listed=listed, downloads=downloads
    )


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


def _model_picker(info: ServiceInfo, conversation: Conversation, lang: str) -> Model:
    models = {m.id: m for m in info.models}
    ids = list(models)
    if conversation.model_id not in models:
        conversation.model_id = ids[0]
    chosen = st.selectbox(
        t(lang, "model"),
        options=ids,
        index=ids.index(conversation.model_id),
        format_func=lambda model_id: models[model_id].label,
        key=f"model_{conversation.id}",
    )
    conversation.model_id = chosen
    if not info.models_from_server:
        st.caption(t(lang, "models_from_catalog"))
    return models[chosen]


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
        data=lambda: to_json(current()),
        on_click="ignore",
        file_name=f"{stem}.json",
        mime="application/json",
        icon=":material/download:",
        help=t(lang, "download_help"),
        width="stretch",
    )


def history(conversation: Conversation, lang: str, *, limit: int) -> tuple[str, ...]:
    """The branch on show up to its last reply, each message with its versions and Edit.

    The last reply, if the branch ends in one, is left to the chat fragment (`chat.py`) with
    all that follows, so a message or a button under the last reply re-runs only that part.
    Returns the ids drawn, in order, for the fragment to draw from where this stopped.
    """
    messages = conversation.messages
    shown = messages[:-1] if messages and messages[-1].role == "assistant" else messages
    for message in shown:
        bubble(conversation, message, lang, limit=limit)
    return tuple(message.id for message in shown)


def tail(
    conversation: Conversation,
    drawn: int,
    lang: str,
    *,
    limit: int,
    journal: Journal,
    replies: Replies,
) -> ReplyTask | None:
    """The branch on show after its first `drawn` messages; returns the reply it followed.

    A reply this process is writing is shown as it arrives, with Stop, and its buttons once it
    has ended (`followed_reply`); one another process is writing is read from the store as it
    grows (`live_reply`).
    """
    for message in conversation.messages[drawn:]:
        # Written by this process? Followed also in the moment after it ended: its writer
        # marks it ended before saving that, and following it to its end sees it saved.
        task = replies.get(message.id) if message is conversation.last else None
        if task is not None:
            followed_reply(task, conversation, lang, journal, replies)
            return task
        if message.status is Status.STREAMING and message is conversation.last:
            with st.chat_message(message.role, avatar=AVATARS[message.role]):
                live_reply(journal, replies, conversation.id, message.id, lang)
            return None
        bubble(conversation, message, lang, limit=limit)
    return None


def bubble(conversation: Conversation, message: Message, lang: str, *, limit: int) -> None:
    """A settled message with its controls, and the actions of the last reply."""
    with st.chat_message(message.role, avatar=AVATARS[message.role]):
        if message.role == "user" and session.editing() == message.id:
            _edit_form(message, lang, limit)
            return
        if message.text:
            show(message.text)
        if message.attachments:
            chips(message, lang)
        message_controls(st.empty(), conversation, message, lang)
        if message is conversation.last:
            with st.empty().container():  # one place, as in `followed_reply`
                actions(message, lang)


def chips(message: Message, lang: str) -> None:
    """A question's files as chips (name and size), not as the text the model was sent."""
    shown = []
    for attachment in message.attachments:
        label = t(lang, "attachment_chip", name=attachment.name, size=human_size(attachment.size))
        shown.append(f":gray-badge[:material/attach_file: {escaped(label)}]")
    st.markdown(" ".join(shown))


def escaped(text: str) -> str:
    """Text shown as it is inside markdown (a file's name, a person's name), never formatted."""
    return _MARKDOWN_SPECIAL.sub(r"\\\g<0>", text)


# Characters markdown gives a meaning to.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~$:]")


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
            follow_reply(task, conversation, lang, replies.update_interval)
        with controls.container():
            message_controls(st.empty(), conversation, task.reply, lang)
            actions(task.reply, lang)


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
) -> None:
    """A message's versions to switch between, Edit for a question, and for a reply the model
    that wrote it and its length.

    A question left with no answer at all (the page stopped before asking) also gets Retry.
    They stay usable while a reply is written: that reply goes on, on its own branch.
    """
    versions = conversation.siblings(message)
    editable = message.role == "user"
    unanswered = message is conversation.last and message.role == "user"
    about = message.role == "assistant" and message.settled and bool(message.text)
    if len(versions) < 2 and not editable and not about:
        slot.empty()
        return
    with slot.container(horizontal=True, gap="small", vertical_alignment="center"):
        if len(versions) > 1:
            _version_switch(versions, message, lang)
        if about:
            copy_button(
                message.text,
                key=f"copy_{message.id}",
                label=t(lang, "copy"),
                done=t(lang, "copied"),
            )
            st.caption(
                t(lang, "reply_about", model=message.model_id or "?", chars=len(message.text))
            )
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


def _version_switch(versions: list[Message], message: Message, lang: str) -> None:
    """`‹ 2 / 3 ›`: the arrows show the neighbouring version (and its newest continuation)."""
    index = next(i for i, m in enumerate(versions) if m.id == message.id)
    _version_arrow(versions, index - 1, "previous", message, lang)
    st.caption(t(lang, "version_of", index=index + 1, count=len(versions)), width="content")
    _version_arrow(versions, index + 1, "next", message, lang)


def _version_arrow(
    versions: list[Message], target: int, way: str, message: Message, lang: str
) -> None:
    exists = 0 <= target < len(versions)
    st.button(
        "",
        icon=":material/chevron_left:" if way == "previous" else ":material/chevron_right:",
        key=f"{way}_{message.id}",
        type="tertiary",
        help=t(lang, f"{way}_version"),
        disabled=not exists,
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
