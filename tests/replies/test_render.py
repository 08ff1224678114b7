"""What `render.give_way` reads of Streamlit: a fragment's click waits behind a running run.

`give_way` lets the chat fragment's Stop and input cut a reply's long run short. It reads
Streamlit's script-request state, which has no public reader; these tests fail when a
Streamlit upgrade changes it (the Chromium tests of Stop and of a message sent mid-reply
check the behaviour itself).
"""

from __future__ import annotations

import contextvars

from streamlit.runtime.scriptrunner_utils.script_requests import (
    RerunData,
    ScriptRequests,
    ScriptRequestType,
)
from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState


def test_a_click_in_a_fragment_waits_for_the_run_in_progress_where_give_way_sees_it() -> None:
    requests = ScriptRequests()
    requests.request_rerun(RerunData(fragment_id="chat"))
    assert requests.on_scriptrunner_yield() is None  # the running run is not cut short
    assert requests._state is ScriptRequestType.RERUN
    assert requests._rerun_data.fragment_id_queue == ["chat"]


def test_a_full_rerun_still_cuts_the_run_short_by_itself() -> None:
    requests = ScriptRequests()
    requests.request_rerun(RerunData())
    request = requests.on_scriptrunner_yield()
    assert request is not None
    assert request.type is ScriptRequestType.RERUN


def test_the_running_fragment_is_named_in_the_threads_state() -> None:
    def inside() -> str | None:
        ThreadState.initialize(fragment_id="chat")
        return ThreadState.get().fragment_id

    assert contextvars.copy_context().run(inside) == "chat"
