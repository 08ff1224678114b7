"""A run that ends in the instant the next request arrives still reaches the browser.

With `runner.fastReruns` off (`.streamlit/config.toml`), Streamlit (1.67) hands each request to
the session's script runner while it lives; once the runner has finished its run and stopped,
the session starts a new runner for the request at once. The old runner's messages (what its
run drew, its end, an `st.logout` redirect) are then still waiting on the event loop, and the
session drops every event of a runner that is no longer its own. On a busy machine, a click
whose run ended as the conversation's watch ticked (every 2 s) was never shown: Sign out did
nothing, and the next click's run showed both.

`install` makes the session start the new runner after what already waits on the event loop,
so the old runner's messages go out first, as its own. Nothing else changes.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from streamlit.runtime.app_session import AppSession, AppSessionState

log = logging.getLogger(__name__)

_MARK = "_starts_after_the_last_runners_messages"


def install() -> None:
    """Wrap `AppSession._create_scriptrunner` once per process; a Streamlit without the
    parts it relies on is left alone."""
    original = getattr(AppSession, "_create_scriptrunner", None)
    if original is None or getattr(original, _MARK, False):
        return
    if not hasattr(AppSession, "_call_soon_on_event_loop"):
        log.warning("Streamlit's session changed; a run ending beside a request may go unseen")
        return

    @functools.wraps(original)
    def create_scriptrunner(self: Any, initial_rerun_data: Any) -> None:
        ended = self._scriptrunner
        if ended is None:  # nothing of an old runner can be waiting
            original(self, initial_rerun_data)
            return

        def after_its_messages() -> None:
            if self._state == AppSessionState.SHUTDOWN_REQUESTED:
                return
            current = self._scriptrunner
            if current is None or current is ended:
                original(self, initial_rerun_data)
            elif not current.request_rerun(initial_rerun_data):
                create_scriptrunner(self, initial_rerun_data)  # it, too, has just ended

        # The ended runner queued all its run's messages before it stopped taking requests.
        self._call_soon_on_event_loop(after_its_messages)

    setattr(create_scriptrunner, _MARK, True)
    AppSession._create_scriptrunner = create_scriptrunner  # type: ignore[method-assign]
