"""A fragment run's end reaches the browser as an end, even when another fragment runs next.

The browser removes what a run no longer draws (an edited branch's old replies, a notice said
once) when it hears that run finished. Streamlit (1.67) clears its outgoing queue as each run
starts, and marks the end of a run still waiting there as "finished early for a rerun", on
the grounds that the new run draws the same place again; the browser then keeps the old
run's leftovers. That holds when the new run re-runs the same fragment, not when it is
another one: a tick of the conversation's watch starting in the moment after the chat
fragment's run (on a busy machine, before its end was sent) left the old branch's last reply
on screen under an edited question, until the next action.

`install` keeps such an end as it was, unless the run starting re-runs every fragment the
ended run ran. The rest of Streamlit's clearing is untouched.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime import forward_msg_queue

log = logging.getLogger(__name__)

FRAGMENT_RUN_ENDED = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
_MARK = "_keeps_other_fragments_ends"


def install() -> None:
    """Wrap `ForwardMsgQueue.clear` once per process; a Streamlit without it is left alone."""
    queue_class = forward_msg_queue.ForwardMsgQueue
    original = getattr(queue_class, "clear", None)
    if original is None or getattr(original, _MARK, False):
        return
    if not isinstance(getattr(queue_class(), "_queue", None), list):
        log.warning("Streamlit's message queue changed; a fragment run's end may be lost")
        return

    @functools.wraps(original)
    def clear(
        self: Any,
        retain_lifecycle_msgs: bool = False,
        fragment_ids_this_run: list[str] | None = None,
    ) -> None:
        kept = (
            [m for m in self._queue if ends_another_fragments_run(m, fragment_ids_this_run)]
            if retain_lifecycle_msgs
            else []
        )
        original(self, retain_lifecycle_msgs, fragment_ids_this_run)
        for msg in kept:
            msg.script_finished = FRAGMENT_RUN_ENDED

    setattr(clear, _MARK, True)
    queue_class.clear = clear  # type: ignore[method-assign]


def ends_another_fragments_run(msg: ForwardMsg, starting: list[str] | None) -> bool:
    """Whether `msg` says a fragment run ended that the run `starting` (its fragments; None
    for the whole page) does not draw again."""
    if starting is None or msg.WhichOneof("type") != "script_finished":
        return False  # a whole page's run draws every fragment again
    if msg.script_finished != FRAGMENT_RUN_ENDED:
        return False
    ended = set(msg.metadata.run.fragment_ids)
    return bool(ended) and not ended <= set(starting)
