"""A fragment run's end survives the start of another fragment's run (`runtime/fragment_ends.py`).

These drive Streamlit's own outgoing queue. The first test pins the Streamlit behaviour the
fix works around: when it fails, a Streamlit upgrade changed it, and the fix may go.
"""

from __future__ import annotations

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

from chatpage.runtime import fragment_ends
from chatpage.runtime.fragment_ends import FRAGMENT_RUN_ENDED

EARLY = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
PAGE_ENDED = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
CHAT, WATCH = "chat-fragment", "watch-fragment"


@pytest.fixture(autouse=True)
def installed() -> None:
    fragment_ends.install()


def ended(status: ForwardMsg.ScriptFinishedStatus.ValueType, *fragments: str) -> ForwardMsg:
    msg = ForwardMsg()
    msg.script_finished = status
    msg.metadata.run.script_run_id = "run-1"
    msg.metadata.run.fragment_ids.extend(fragments)
    return msg


def status_after_clear(
    msg: ForwardMsg, starting: list[str] | None, *, streamlit_alone: bool = False
) -> ForwardMsg.ScriptFinishedStatus.ValueType:
    """The status `msg` has once a run of `starting` (None: the page) clears the queue."""
    queue = ForwardMsgQueue()
    queue.enqueue(msg)
    clear = ForwardMsgQueue.clear
    if streamlit_alone:
        clear = clear.__wrapped__  # type: ignore[attr-defined]
    clear(queue, retain_lifecycle_msgs=True, fragment_ids_this_run=starting)
    (kept,) = queue.flush()
    return kept.script_finished


def test_streamlit_alone_marks_a_fragment_runs_end_early_when_another_fragment_starts() -> None:
    status = status_after_clear(ended(FRAGMENT_RUN_ENDED, CHAT), [WATCH], streamlit_alone=True)
    assert status == EARLY


def test_a_fragment_runs_end_stays_an_end_when_another_fragment_starts() -> None:
    assert status_after_clear(ended(FRAGMENT_RUN_ENDED, CHAT), [WATCH]) == FRAGMENT_RUN_ENDED


def test_a_fragment_runs_end_is_early_when_the_same_fragment_runs_again() -> None:
    assert status_after_clear(ended(FRAGMENT_RUN_ENDED, CHAT), [WATCH, CHAT]) == EARLY


def test_any_runs_end_is_early_when_the_whole_page_runs_again() -> None:
    assert status_after_clear(ended(FRAGMENT_RUN_ENDED, CHAT), None) == EARLY


def test_a_page_runs_end_stays_an_end_when_a_fragment_starts() -> None:
    assert status_after_clear(ended(PAGE_ENDED), [WATCH]) == PAGE_ENDED


def test_installing_twice_wraps_the_queue_once() -> None:
    wrapped = ForwardMsgQueue.clear
    fragment_ends.install()
    assert ForwardMsgQueue.clear is wrapped
    assert not hasattr(wrapped.__wrapped__, "__wrapped__")  # type: ignore[attr-defined]
