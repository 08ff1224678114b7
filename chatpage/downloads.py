"""A download made for one person survives the page runs of everyone else.

The page's download buttons (a conversation's Markdown and JSON, the usage CSV) are made only
when clicked: Streamlit runs the button's callable, stores the file and hands the browser its
URL, which the browser then fetches. That file belongs to no session, so the orphan sweep
that follows every page run of any session marks it at the first run and deletes it at the
second. On a busy process (a hundred tabs, each re-run every second by its live view) two runs
fit between the URL's answer and the browser's fetch, and the download fails ("canceled").

`keep_made_files` holds each made file for `KEPT_SECONDS` as if a session still showed it,
then leaves it to Streamlit's sweep as before. At most `MOST_KEPT` are held at once (the
oldest is let go first), so clicks cannot pile files up in memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from streamlit import runtime

log = logging.getLogger(__name__)

KEPT_SECONDS = 60.0  # a browser fetches a made file within moments; a slow one has a minute
MOST_KEPT = 64
# Streamlit's sweep keeps what any session shows: the held files are shown by this one.
HOLDER = "chatpage-downloads-being-fetched"

_HOOKED = "_chatpage_holds_made_files"  # set on a manager once it is hooked
_install_lock = threading.Lock()


def keep_made_files(manager: Any, clock: Callable[[], float] = time.monotonic) -> bool:
    """Hold the files `manager` (Streamlit's media file manager) makes for downloads.

    Idempotent per manager. Returns whether the files are held: False, with a warning, when
    this Streamlit lacks what it hooks (its download then works as Streamlit's own does).
    """
    with _install_lock:
        if getattr(manager, _HOOKED, False):
            return True
        shown = getattr(manager, "_files_by_session_and_coord", None)
        lock = getattr(manager, "_lock", None)
        made = getattr(manager, "execute_deferred", None)
        sweep = getattr(manager, "remove_orphaned_files", None)
        if not isinstance(shown, dict) or lock is None or made is None or sweep is None:
            log.warning("this Streamlit's media files are not as expected: downloads not held")
            return False
        held: OrderedDict[str, float] = OrderedDict()  # file id -> when it was made

        def make(placeholder_id: str) -> str:
            url: str = made(placeholder_id)
            file_id = PurePosixPath(url).stem  # ".../media/<id>.<extension>"
            with lock:
                held[file_id] = clock()
                held.move_to_end(file_id)
                while len(held) > MOST_KEPT:
                    held.popitem(last=False)
                shown[HOLDER] = {name: name for name in held}
            return url

        def swept() -> None:
            now = clock()
            with lock:
                while held and now - next(iter(held.values())) > KEPT_SECONDS:
                    held.popitem(last=False)
                if held:
                    shown[HOLDER] = {name: name for name in held}
                else:
                    shown.pop(HOLDER, None)
            sweep()

        manager.execute_deferred = make
        manager.remove_orphaned_files = swept
        setattr(manager, _HOOKED, True)
        return True


def hold_for_this_process() -> bool:
    """Hook the running Streamlit's media file manager (called as the server starts)."""
    if not runtime.exists():
        return False
    return keep_made_files(runtime.get_instance().media_file_mgr)
