"""Writing a reply onto the page as it streams, light on the wire.

The reply goes through `st.write_stream`, but cut by `BlockSplitter`: finished blocks are
frozen into their own elements (a callable chunk makes `write_stream` close the current
element), and updates are joined in time, so only the block being written is re-sent, a few
times a second. When the reply ends it is rendered once more as one element, so what stays on
the page is exactly the markdown of the whole text.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType
from streamlit.runtime.scriptrunner_utils.script_run_context import (
    ThreadState,
    get_script_run_ctx,
)

from chatpage.data.conversation import Message
from chatpage.i18n import t
from chatpage.replies.blocks import DEFAULT_MAX_PIECE, FREEZE, BlockSplitter, display_updates
from chatpage.replies.diagrams import show_reply
from chatpage.replies.tasks import TICK
from chatpage.views.safe_markdown import FenceGuard, StreamGuard, show

_INTERRUPT_PROBE = "__chatpage_interrupt_probe__"


def _freeze() -> None:
    """Handed to `st.write_stream` as a chunk: it closes the element being written."""


def allow_interrupt() -> None:
    """Give Streamlit a chance to deliver a Stop or a new message, without sending anything.

    Streamlit raises a full re-run's request inside the script thread at its next yield
    point; reading session state is one, and costs no bytes on the websocket. A click on a
    widget of the running fragment, though, only waits: `give_way` answers those.
    """
    _ = _INTERRUPT_PROBE in st.session_state


def give_way() -> None:
    """End this run when a click or a message for the running fragment waits for it.

    Streamlit queues the re-run a fragment's widget asks for behind the run in progress
    instead of cutting it short (only a full re-run, or a re-run a fragment asks for itself,
    does that). The chat fragment follows a reply for as long as it is written, so its Stop
    and its input would wait that long; this notices such a click and re-runs at once, the
    click's widget state included. It reads Streamlit's script-request state (1.67), which has
    no public reader; `tests/replies/test_render.py` fails if that changes.
    """
    ctx = get_script_run_ctx()
    requests = ctx.script_requests if ctx is not None else None
    if requests is None or requests._state is not ScriptRequestType.RERUN:
        return
    fragment = ThreadState.get().fragment_id
    if fragment is None or fragment not in requests._rerun_data.fragment_id_queue:
        return  # a full re-run (Streamlit delivers it itself), or another fragment's timer
    st.rerun(scope="fragment" if ctx.fragment_ids_this_run else "app")


def write_progressively(
    events: Iterable[str | None],
    initial: str,
    reply: Message,
    lang: str,
    *,
    max_piece: int = DEFAULT_MAX_PIECE,
    clock: Callable[[], float] = time.monotonic,
    saving_failed: Callable[[], bool] = lambda: False,
) -> None:
    """Show a reply as it arrives: `initial` (the text so far), then `events`.

    While `saving_failed()` says the database cannot be reached, a note under the reply says
    so (the text goes on arriving, and is saved once the database is back).

    `events` yields new text, paced (`ReplyTask.follow`, `replies.update_interval`), or
    TICK when nothing arrived for a moment; the reply's writer
    keeps `reply.text` (this only shows it). If the page run is interrupted (a rerun, another
    conversation opened), the exception passes through; the reply goes on being written.
    """
    slot = st.empty()
    if initial:  # joined mid-way, or continuing a cut reply: cut into blocks like the rest
        events = itertools.chain([initial], events)
    try:
        with slot.container():
            waiting = st.empty()
            if not initial:
                waiting.caption(t(lang, "waiting"))
            chunks = _display_chunks(events, waiting, lang, max_piece, clock, bool(initial))
            text, note = st.container(), st.empty()  # the note goes under the text
            with text:
                st.write_stream(_noting(chunks, note, saving_failed, lang))
            note.empty()
    except Exception:  # a failed reply: show all that arrived, some of it not yet displayed
        _final(slot, reply, lang, ended=False)
        raise
    _final(slot, reply, lang, ended=True)


def _final(
    slot: st.delta_generator.DeltaGenerator, reply: Message, lang: str, *, ended: bool
) -> None:
    """The reply as one element: exactly what the history will show on the next run (with
    its diagrams drawn, once it has ended)."""
    if reply.text and ended:
        show_reply(reply.text, lang, slot)
    elif reply.text:
        show(reply.text, slot)
    else:
        slot.empty()


def _noting(
    chunks: Iterator[str | Callable[[], None]],
    note: st.delta_generator.DeltaGenerator,
    saving_failed: Callable[[], bool],
    lang: str,
) -> Iterator[str | Callable[[], None]]:
    """Pass the chunks on, and keep the note under the reply in step with the database."""
    shown = False
    for chunk in chunks:
        failing = saving_failed()
        if failing != shown:
            shown = failing
            if failing:
                note.caption(":material/database: " + t(lang, "saving_paused"))
            else:
                note.empty()
        yield chunk


def _display_chunks(
    events: Iterable[str | None],
    waiting: st.delta_generator.DeltaGenerator,
    lang: str,
    max_piece: int,
    clock: Callable[[], float],
    started_with_text: bool,
) -> Iterator[str | Callable[[], None]]:
    splitter = BlockSplitter(max_piece=max_piece)
    images = StreamGuard()  # no image is loaded while the reply streams either
    fences = FenceGuard()  # nor a diagram drawn: its block is code until the reply ends
    started = clock()
    shown_seconds = 0
    first_text = not started_with_text
    for item in events:
        give_way()
        if item is TICK:
            allow_interrupt()
            if first_text:
                seconds = int(clock() - started)
                if seconds >= 2 and seconds != shown_seconds:
                    shown_seconds = seconds
                    waiting.caption(t(lang, "waiting_seconds", seconds=seconds))
            continue
        if first_text:
            waiting.empty()
            first_text = False
        for update in display_updates(splitter.feed(item)):
            if update is FREEZE:
                held = images.feed(fences.flush()) + images.flush()
                if held:
                    yield held
                yield _freeze
            else:
                yield images.feed(fences.feed(update))  # type: ignore[arg-type]
