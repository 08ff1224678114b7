"""The last line of defence: an error nobody foresaw never takes the page down.

Each region of the page (the sidebar, the conversation, the reply) is drawn inside
`region`, and every button's action is wrapped in `guarded` (and, where it writes to the
store, in `storage_guarded`, for the one failure foreseen there). An unexpected exception there is
logged with its traceback under a short reference, and the person sees a plain message with
that reference, in place of the region that failed; the rest of the page, the conversation
and the typed text stay, and the next run starts afresh. Streamlit's own rerun and stop
requests are BaseExceptions, not Exceptions, and pass through untouched.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from chatpage.i18n import t
from chatpage.operations import metrics

log = logging.getLogger(__name__)
P = ParamSpec("P")
_FAULTS = "unexpected_faults"


def _reference(what: str) -> str:
    """Log the exception being handled under a fresh reference, and return the reference."""
    reference = secrets.token_hex(4)
    log.exception("unexpected error in %s (reference %s)", what, reference)
    return reference


@contextmanager
def region(name: str, lang: str) -> Iterator[None]:
    """Draw a part of the page; if it fails unexpectedly, say so there and go on."""
    try:
        yield
    except Exception:
        show(_reference(name), lang)


def guarded(action: Callable[P, None]) -> Callable[P, None]:
    """A button's action that cannot take the page down: a failure is said on the next run."""

    @functools.wraps(action)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            action(*args, **kwargs)
        except Exception:
            faults: list[str] = st.session_state.setdefault(_FAULTS, [])
            faults.append(_reference(action.__name__))

    return run


def storage_guarded(
    write: str, on_failure: Callable[[], None]
) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """A button's action whose database failure is foreseen: logged (under the action's own
    module), counted as a failed `write`, and handed to `on_failure` to say on the page, not
    shown as a traceback or an unexpected error."""

    def decorate(action: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(action)
        def run(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                action(*args, **kwargs)
            except SQLAlchemyError:
                logging.getLogger(action.__module__).exception("%s failed", action.__name__)
                metrics.write_failed(write)
                on_failure()

        return run

    return decorate


def show_pending(lang: str) -> None:
    """Say, once, what failed in a button's action since the last run."""
    for reference in st.session_state.pop(_FAULTS, []):
        show(reference, lang)


def show(reference: str, lang: str) -> None:
    st.error(t(lang, "unexpected_error", reference=reference), icon=":material/bug_report:")
