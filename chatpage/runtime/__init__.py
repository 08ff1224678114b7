"""Small fixes to Streamlit's own server (1.67) that the page relies on, each installed once
per process before the first session: what a run draws reaches the browser (`fragment_ends`,
`runner_handoff`), a timer's tick never repeats a click (`timer_ticks`), and the sessions'
messages go out without a turn of the event loop each (`message_flush`). Each leaves a
Streamlit without the parts it relies on alone, with a warning in the log.
"""

from __future__ import annotations

from chatpage.runtime import fragment_ends, message_flush, runner_handoff, timer_ticks


def install() -> None:
    fragment_ends.install()  # before the server sends anything
    runner_handoff.install()  # before the first session starts a run
    timer_ticks.install()
    message_flush.install()
