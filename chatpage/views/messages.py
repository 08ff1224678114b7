"""Message bubbles: the conversation up to its last reply, and the buttons under a reply.

Every text a person or the model wrote is shown with plain `st.markdown`, never with
`unsafe_allow_html`, so markup in a message or a reply is shown, not run; and through
`safe_markdown.show`, so an image in it is a link, not fetched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import streamlit as st

from chatpage import session
from chatpage.access.limits import human_size
from chatpage.data.conversation import Conversation, Message, Status
from chatpage.database.ratings import RATEABLE, UP
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.replies.asking import show_failure, show_own_reply
from chatpage.replies.diagrams import show_reply
from chatpage.replies.live import reply_from_elsewhere
from chatpage.replies.tasks import Replies, ReplyTask
from chatpage.views import shortcuts
from chatpage.views.copy_button import copy_button
from chatpage.views.safe_markdown import show
from chatpage.views.window import Shown, scroll_here, show_earlier

AVATARS = {"user": ":material/person:", "assistant": ":material/smart_toy:"}


@dataclass(frozen=True)
class Rater:
    """What the thumbs under a person's replies need: their journal, and their ratings of
    the replies drawn (read once per run)."""

    journal: Journal
    given: Mapping[str, int] = field(default_factory=dict)


def rater(
    journal: Journal | None, conversation: Conversation, shown: list[Message]
) -> Rater | None:
    """Thumbs for the person's own stored conversation; none when ratings cannot be read."""
    if journal is None or not conversation.revision:
        return None
    given = journal.ratings([m.id for m in shown if rateable(m)])
    return None if given is None else Rater(journal, given)


def rateable(message: Message) -> bool:
    """A finished reply, not a failed one, with text: what a thumb can judge."""
    return (
        message.role == "assistant"
        and message.status in RATEABLE
        and message.error is None
        and bool(message.text)
    )


def history(
    conversation: Conversation,
    lang: str,
    *,
    limit: int,
    window: Shown,
    journal: Journal | None = None,
) -> tuple[str, ...]:
    """The branch on show up to its last reply, from the window's first message on, each
    message with its versions and Edit; "Show earlier messages" above them.

    The last reply, if the branch ends in one, is left to the chat fragment (`chat.py`) with
    all that follows, so a message or a button under the last reply re-runs only that part.
    Returns the ids drawn, in order, for the fragment to draw from where this stopped.
    """
    messages = conversation.messages
    end = len(messages) - 1 if messages and messages[-1].role == "assistant" else len(messages)
    shown = messages[window.first : max(end, window.first)]
    show_earlier(conversation, window, lang)
    thumbs = rater(journal, conversation, shown)
    for message in shown:
        if message.id == window.focus:
            scroll_here(message.id)
        bubble(conversation, message, lang, limit=limit, rater=thumbs)
    return tuple(message.id for message in shown)


def tail(
    conversation: Conversation,
    drawn: int,
    lang: str,
    *,
    limit: int,
    journal: Journal,
    replies: Replies,
    upto: int | None = None,
    shown: Callable[[], None] | None = None,
) -> ReplyTask | None:
    """The branch on show after its first `drawn` messages (up to `upto`, as a slice); returns
    the reply it followed.

    A reply this process is writing is shown as it arrives, with Stop, and its buttons once it
    has ended (`own_reply_bubble`; `shown` is called once its first texts are drawn); one another
    process is writing is read from the store as it grows (`reply_from_elsewhere`).
    """
    thumbs = rater(journal, conversation, conversation.messages[drawn:upto])
    for message in conversation.messages[drawn:upto]:
        # Written by this process? Followed also in the moment after it ended: its writer
        # marks it ended before saving that, and following it to its end sees it saved.
        task = replies.get(message.id) if message is conversation.last else None
        if task is not None:
            own_reply_bubble(task, conversation, lang, journal, replies, thumbs, shown)
            return task
        if message.status is Status.STREAMING and message is conversation.last:
            with st.chat_message(message.role, avatar=AVATARS[message.role]):
                reply_from_elsewhere(journal, replies, conversation.id, message.id, lang)
            return None
        bubble(conversation, message, lang, limit=limit, rater=thumbs)
    return None


def bubble(
    conversation: Conversation,
    message: Message,
    lang: str,
    *,
    limit: int,
    rater: Rater | None = None,
) -> None:
    """A settled message with its controls, and the actions of the last reply."""
    with st.chat_message(message.role, avatar=AVATARS[message.role]):
        if message.role == "user" and session.editing() == message.id:
            _edit_form(message, lang, limit)
            return
        if message.text and message.role == "assistant" and message.settled:
            show_reply(message.text, lang)  # its diagrams drawn
        elif message.text:
            show(message.text)
        if message.attachments:
            chips(message, lang)
        message_controls(st.empty(), conversation, message, lang, rater)
        if message is conversation.last:
            with st.empty().container():  # one place, as in `own_reply_bubble`
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


def own_reply_bubble(
    task: ReplyTask,
    conversation: Conversation,
    lang: str,
    journal: Journal,
    replies: Replies,
    rater: Rater | None = None,
    shown: Callable[[], None] | None = None,
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
            shortcut=shortcuts.STOP,
            on_click=session.stop_reply,
            args=(journal, replies, conversation.id, task.id),
        )
        with body:
            show_own_reply(task, conversation, lang, replies.update_interval, shown)
        with controls.container():
            message_controls(st.empty(), conversation, task.reply, lang, rater)
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
        shortcut=shortcuts.REGENERATE,
        on_click=session.ask,
        args=("regenerate", message.id),
    )


def message_controls(
    slot: st.delta_generator.DeltaGenerator,
    conversation: Conversation,
    message: Message,
    lang: str,
    rater: Rater | None = None,
) -> None:
    """A message's versions to switch between, Edit for a question, and for a reply the model
    that wrote it and its length, and the person's thumbs up or down on it.

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
                shortcut=is_last(conversation, message),
            )
            if rater is not None and rateable(message):
                thumbs(message, rater)
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
                shortcut=shortcuts.REGENERATE,
                on_click=session.ask,
                args=("regenerate", message.id),
            )


def is_last(conversation: Conversation, message: Message) -> bool:
    """Whether this is the branch's last message (a reply task's copy of it included)."""
    last = conversation.last
    return last is not None and last.id == message.id


def thumbs(message: Message, rater: Rater) -> None:
    """Thumbs up or down on a reply: a click on the chosen one clears it. Stored per reply,
    so another tab of the person shows it on its next run."""
    stored = rater.given.get(message.id)
    key = session.shown_rating(message.id, None if stored is None else int(stored == UP))
    st.feedback("thumbs", key=key, on_change=session.rate, args=(rater.journal, message.id, key))


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
