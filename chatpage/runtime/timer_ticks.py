"""A fragment's timer tick never carries a click: a click is done once.

The browser (Streamlit 1.67) sometimes sends a `run_every` fragment's tick in the instant
between a click and the click's own message, with the click's trigger in both; the session
then runs the button's callback twice (a pin toggled back, earlier messages shown twice as
far back). Seen once in 1,200 clicks beside a fragment ticking every 0.3 s on a loaded machine.

`install` drops triggers from the requests the browser marks as automatic (a timer's); the
click's own request, which always follows, carries it. Nothing else changes.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.app_session import AppSession

log = logging.getLogger(__name__)

_MARK = "_ticks_carry_no_clicks"
# The kinds of widget value a click or a submission sets for one run (Streamlit's triggers).
TRIGGERS = frozenset(
    {"trigger_value", "string_trigger_value", "chat_input_value", "json_trigger_value"}
)


def install() -> None:
    """Wrap `AppSession.request_rerun` once per process."""
    original = getattr(AppSession, "request_rerun", None)
    if original is None or getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def request_rerun(self: Any, client_state: ClientState | None) -> None:
        if client_state is not None and client_state.is_auto_rerun:
            client_state = without_triggers(client_state)
        original(self, client_state)

    setattr(request_rerun, _MARK, True)
    AppSession.request_rerun = request_rerun  # type: ignore[method-assign]


def without_triggers(client_state: ClientState) -> ClientState:
    """A copy of `client_state` with no widget's trigger (the original is left as it is)."""
    if not any(_triggered(w) for w in client_state.widget_states.widgets):
        return client_state
    kept = [w for w in client_state.widget_states.widgets if not _triggered(w)]
    copy = ClientState()
    copy.CopyFrom(client_state)
    del copy.widget_states.widgets[:]
    copy.widget_states.widgets.extend(kept)
    return copy


def _triggered(state: WidgetState) -> bool:
    """Whether `state` is a click or a submission (the browser sends those only once)."""
    kind = state.WhichOneof("value")
    return state.trigger_value if kind == "trigger_value" else kind in TRIGGERS
