"""The model bar at the top of the chat, and replies of several models side by side.

The bar is the model a message goes to and, with Compare on, up to two more: one message then
gets a reply from each (`data/comparison.py`), shown in columns (on a narrow screen Streamlit
stacks them), each headed with its model's name and with its own Stop. The columns stream
together: one loop follows every reply and sends each column's new text a few times a
second, whether the reply is written by this process (its `ReplyTask`) or by another (read
from the store after each notice). A finished column offers "Continue with this one".

The one-model path draws only the bar's model picker and toggle: nothing here runs per reply.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.delta_generator import DeltaGenerator

from chatpage import session
from chatpage.backend import ServiceInfo
from chatpage.data import comparison
from chatpage.data.conversation import Conversation, Message, Status
from chatpage.database.conversations import ConversationStore
from chatpage.database.notices import key
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.replies.asking import show_failure
from chatpage.replies.blocks import FREEZE, BlockSplitter, display_updates
from chatpage.replies.live import LIVE_INTERVAL
from chatpage.replies.render import allow_interrupt, give_way
from chatpage.replies.tasks import Replies, ReplyTask
from chatpage.views.copy_button import copy_button
from chatpage.views.guard import guarded
from chatpage.views.messages import AVATARS, escaped
from chatpage.views.safe_markdown import StreamGuard, show

COMPARE_ON = "compare_on"  # the bar's Compare toggle (this tab's, for every conversation)
COMPARE_WITH = "compare_with"  # the models compared with the chosen one


def model_key(conversation_id: str) -> str:
    return f"model_{conversation_id}"


def model_bar(
    info: ServiceInfo, conversation: Conversation, lang: str, row: DeltaGenerator
) -> tuple[str, ...]:
    """The model of the conversation and, with Compare on, the models compared with it,
    drawn at the left of the chat's top `row` (its settings sit at the right, as in ChatGPT).

    Returns the models a new message goes to, the conversation's own first.
    """
    models = {m.id: m for m in info.models}
    ids = list(models)
    if conversation.model_id not in models:
        conversation.model_id = ids[0]
    picked = model_key(conversation.id)
    if st.session_state.get(picked, conversation.model_id) not in models:
        del st.session_state[picked]  # a model the service no longer offers
    bar = row.container(horizontal=True, vertical_alignment="center", gap="small", key="model_bar")
    with bar:
        chosen = st.selectbox(
            t(lang, "model"),
            options=ids,
            index=ids.index(conversation.model_id),
            format_func=lambda model_id: models[model_id].label,
            key=picked,
            label_visibility="collapsed",
            width=260,
        )
        conversation.model_id = chosen
        comparing = len(ids) > 1 and st.toggle(
            t(lang, "compare"),
            key=COMPARE_ON,
            help=t(lang, "compare_help"),
            on_change=_first_to_compare,
            args=(ids, picked),
        )
        others: list[str] = []
        if comparing:
            options = [model_id for model_id in ids if model_id != chosen]
            kept = [m for m in st.session_state.get(COMPARE_WITH, []) if m in options]
            st.session_state[COMPARE_WITH] = kept  # only models offered, and not the chosen one
            others = st.multiselect(
                t(lang, "compare_with"),
                options=options,
                key=COMPARE_WITH,
                max_selections=comparison.MAX_MODELS - 1,
                format_func=lambda model_id: models[model_id].label,
                placeholder=t(lang, "compare_with"),
                label_visibility="collapsed",
            )
    if not info.models_from_server:  # under the row, which was drawn before this
        st.caption(t(lang, "models_from_catalog"))
    return comparison.models_to_compare(chosen, others, models)


@guarded
def _first_to_compare(ids: list[str], picked: str) -> None:
    """Compare turned on with nothing to compare with: the next model, to start from."""
    if st.session_state.get(COMPARE_ON) and not st.session_state.get(COMPARE_WITH):
        chosen = st.session_state.get(picked)
        st.session_state[COMPARE_WITH] = [m for m in ids if m != chosen][:1]


@guarded
def _pick(conversation_id: str, reply_id: str, model_id: str | None) -> None:
    """Continue with this reply: its branch on show, its model the conversation's, and the
    next message to it alone."""
    session.ask("pick", reply_id)
    if model_id:
        session.use_model(conversation_id, model_id)
        st.session_state.pop(model_key(conversation_id), None)  # the bar shows it anew
    st.session_state[COMPARE_ON] = False


@dataclass
class _Column:
    """One compared reply's place on the page, and how far its text has been shown."""

    message: Message
    task: ReplyTask | None  # written by this process; else read from the store
    body: DeltaGenerator
    controls: DeltaGenerator
    writer: _Writer | None = None
    settled: bool = False
    notes: list[str] = field(default_factory=list)


def side_by_side(
    conversation: Conversation,
    compared: Sequence[Message],
    lang: str,
    *,
    journal: Journal,
    replies: Replies,
    labels: Mapping[str, str],
) -> list[ReplyTask]:
    """The compared replies in columns, followed together until each has ended.

    Returns the reply tasks of this process it followed (ended by then).
    """
    columns: list[_Column] = []
    with st.chat_message("assistant", avatar=AVATARS["assistant"]):
        places = st.columns(len(compared))
        for index, (place, message) in enumerate(zip(places, compared, strict=True)):
            with place, st.container(key=f"compared_{index}"):
                label = labels.get(message.model_id or "", message.model_id or "?")
                st.markdown(f"**{escaped(label)}**")
                with st.container(key=f"compared_text_{index}"):
                    body = st.empty()
                controls = st.empty()
            columns.append(_Column(message, replies.get(message.id), body, controls))
    for column in columns:
        if column.task is None and column.message.settled:
            _settle(column, conversation, lang)
        else:
            _start(column, journal, replies, conversation.id, lang)
    _follow(columns, conversation, journal, replies, lang)
    return [column.task for column in columns if column.task is not None]


def _start(
    column: _Column, journal: Journal, replies: Replies, conversation_id: str, lang: str
) -> None:
    """A reply still being written: its text so far, and its Stop."""
    column.writer = _Writer(column.body.container())
    if column.task is not None:
        column.writer.feed(column.task.snapshot()[0])
    else:
        column.writer.feed(column.message.text)
    with column.controls.container():
        if column.task is None:
            st.caption(":material/edit_note: " + t(lang, "being_written"))
        st.button(
            t(lang, "stop"),
            icon=":material/stop_circle:",
            key=f"stop_{column.message.id}",
            on_click=session.stop_reply,
            args=(journal, replies, conversation_id, column.message.id),
        )


def _follow(
    columns: list[_Column],
    conversation: Conversation,
    journal: Journal,
    replies: Replies,
    lang: str,
) -> None:
    """Show every column's new text at the page's pace until all have ended.

    A reply of this process is read from its task; one of another process from the store,
    after each notice of the conversation, or at least every LIVE_INTERVAL (a writer killed
    mid-reply sends none, and only a read finds its lease ran out).
    """
    store, notices = journal.store, journal.store.notices
    waited = key(conversation.id)
    heard = notices.version(waited)
    read_at = time.monotonic()
    while not all(column.settled for column in columns):
        elsewhere = [c for c in columns if not c.settled and c.task is None]
        if elsewhere:
            news = notices.wait(waited, heard, replies.update_interval())
            due = news != heard or time.monotonic() - read_at >= LIVE_INTERVAL
            if due:
                heard, read_at = news, time.monotonic()
                for column in elsewhere:
                    _read(column, store, conversation, journal.owner)
        else:
            time.sleep(replies.update_interval())
        for column in columns:
            if column.settled:
                continue
            if column.task is not None:
                ended = column.task.done.is_set()
                column.writer.feed_to(column.task.snapshot()[0])  # type: ignore[union-attr]
                if ended:
                    column.message = column.task.ended_reply()
            elif column.writer is not None:
                column.writer.feed_to(column.message.text)
            if column.message.settled and (column.task is None or column.task.done.is_set()):
                _settle(column, conversation, lang)
        allow_interrupt()
        give_way()  # a click on a Stop, or on a finished column's button


def _read(
    column: _Column, store: ConversationStore, conversation: Conversation, owner: str
) -> None:
    """The reply as another process saved it; the page's copy takes in how it ended."""
    try:
        stored = store.message(conversation.id, column.message.id, owner)
    except SQLAlchemyError:
        return  # the database is away: read again at the next round
    if stored is None:  # deleted elsewhere: what was shown stays; the page says so next run
        column.settled = True
        column.controls.empty()
        return
    mine = conversation.tree.get(stored.id, column.message)
    mine.text, mine.status, mine.error = stored.text, stored.status, stored.error
    column.message = mine


def _settle(column: _Column, conversation: Conversation, lang: str) -> None:
    """An ended reply: all its text as one element, how it ended, and its buttons."""
    column.settled = True
    message = column.message
    if message.text:
        show(message.text, column.body)
    else:
        column.body.empty()
    with column.controls.container():
        if message.error is not None:
            show_failure(message.error, lang)
        elif message.status is Status.STOPPED:
            st.caption(":material/stop_circle: " + t(lang, "stopped_note"))
        elif message.status is Status.INTERRUPTED:
            st.caption(":material/history: " + t(lang, "interrupted_note"))
        with st.container(horizontal=True, gap="small", vertical_alignment="center"):
            st.button(
                t(lang, "compare_pick"),
                icon=":material/check:",
                key=f"pick_{message.id}",
                on_click=_pick,
                args=(conversation.id, message.id, message.model_id),
            )
            if message.text:
                copy_button(
                    message.text,
                    key=f"copy_{message.id}",
                    label=t(lang, "copy"),
                    done=t(lang, "copied"),
                )


class _Writer:
    """A reply written into a column as it arrives, cut into blocks as `render.py` does, so
    each update re-sends only the block being written."""

    def __init__(self, place: DeltaGenerator) -> None:
        self._place = place
        self._splitter = BlockSplitter()
        self._images = StreamGuard()  # no image is loaded while the reply streams
        self._piece = place.empty()
        self._piece_text = ""
        self._fed = 0

    def feed_to(self, text: str) -> None:
        """Show `text`, the reply so far, of which the first part was shown already."""
        if len(text) > self._fed:
            self.feed(text[self._fed :])

    def feed(self, text: str) -> None:
        if not text:
            return
        self._fed += len(text)
        for update in display_updates(self._splitter.feed(text)):
            if update is FREEZE:
                self._piece_text += self._images.flush()
                if self._piece_text:
                    self._piece.markdown(self._piece_text)
                self._piece, self._piece_text = self._place.empty(), ""
            else:
                self._piece_text += self._images.feed(str(update))
        if self._piece_text:
            self._piece.markdown(self._piece_text)
