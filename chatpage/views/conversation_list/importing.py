"""Importing ChatGPT's and Claude's data exports from the sidebar, with a progress bar and a
summary of what was imported, skipped and left out.

The file is read in a bounded child process (chatpage/data/foreign_imports.py) while the bar
says so; then each conversation is stored in turn, the bar counting them. A conversation the
person imported before and still keeps is skipped, whichever tab or process imported it. The
newest conversation imported opens, named in the URL like any other.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.delta_generator import DeltaGenerator

from chatpage import session
from chatpage.access.limits import (
    FOREIGN_MAX_CONVERSATIONS,
    FOREIGN_MAX_MESSAGES,
    FOREIGN_MAX_NODES,
    FOREIGN_MAX_TEXT_CHARS,
    IMPORT_MAX_MESSAGES,
    human_size,
)
from chatpage.data import foreign_imports
from chatpage.data.export import ImportRefused
from chatpage.data.foreign import CHATGPT, Batch
from chatpage.database.demo_usage import ImportBound
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.operations import metrics
from chatpage.operations.audit import audit

log = logging.getLogger(__name__)

PENDING = "import_foreign_pending"  # set by the uploader's callback: read it in this run
_SUMMARY = "import_foreign_summary"
SERVICE_NAMES = {CHATGPT: "ChatGPT", "claude": "Claude"}
# The figure each reason's words name, when they name one.
_LIMITS = {
    "too_big": FOREIGN_MAX_NODES,
    "too_many": FOREIGN_MAX_CONVERSATIONS,
    "cut": FOREIGN_MAX_TEXT_CHARS,
}
_MESSAGE_LIMITS = {"too_many": IMPORT_MAX_MESSAGES}


@dataclass(frozen=True)
class Outcome:
    """What one import did: for the summary under the uploader, while it holds that file."""

    file_id: str
    source: str
    imported: int
    messages: int
    skipped: Counter[str] = field(default_factory=Counter)  # conversations, by reason
    left_out: Counter[str] = field(default_factory=Counter)  # messages, by reason


def summary_lines(outcome: Outcome, lang: str) -> list[str]:
    """The summary in words, one line a figure: imported, then skipped and left out, by reason."""
    service = SERVICE_NAMES.get(outcome.source, outcome.source)
    lines = [t(lang, "imported_count", service=service, count=outcome.imported)]
    if outcome.imported:
        lines.append(t(lang, "imported_messages", count=outcome.messages))
    for reason, count in sorted(outcome.skipped.items()):
        limit = _LIMITS.get(reason)
        lines.append(
            t(
                lang,
                f"imported_skipped_{reason}",
                count=count,
                limit=limit,
                messages=FOREIGN_MAX_MESSAGES,
            )
        )
    for reason, count in sorted(outcome.left_out.items()):
        limit = _MESSAGE_LIMITS.get(reason, _LIMITS.get(reason))
        lines.append(t(lang, f"imported_left_{reason}", count=count, limit=limit))
    return lines


def import_pending(journal: Journal, lang: str, bound: ImportBound | None, upload_key: str) -> None:
    """Read the uploaded export and store its conversations, if the uploader's callback asked.

    Runs in the page's script (not a callback) so the progress bar shows as it goes; ends
    with a rerun that opens the newest conversation imported.
    """
    if not st.session_state.pop(PENDING, False):
        return
    upload = st.session_state.get(upload_key)
    if upload is None:
        return
    data = upload.getvalue()
    progress = st.progress(0.0, text=t(lang, "import_reading"))
    try:
        batch = foreign_imports.read_bounded(data)
        over = bound(len(data)) if bound is not None else None  # counts it, when within bounds
        if over is not None:
            limit = human_size(over.limit) if over.key == "import_demo_bytes" else over.limit
            raise ImportRefused(over.key, limit=limit)
    except ImportRefused as refused:
        progress.empty()
        st.session_state["import_refused"] = refused
        audit("refused", journal.owner, kind=refused.key, size=len(data))
        return
    try:
        outcome, opened = _store(journal, batch, bound, upload.file_id, progress, lang)
    except SQLAlchemyError:
        log.exception("could not store an import")
        metrics.write_failed("conversation")
        progress.empty()
        st.error(t(lang, "storage_failed"), icon=":material/database:")
        return
    progress.empty()
    st.session_state[_SUMMARY] = outcome
    audit(
        "conversations_imported",
        journal.owner,
        source=batch.source,
        imported=outcome.imported,
        messages=outcome.messages,
        already=outcome.skipped.get("already", 0),
        skipped=sum(outcome.skipped.values()),
    )
    if opened is not None:
        session.open_conversation(opened)
        st.rerun()


def _store(
    journal: Journal,
    batch: Batch,
    bound: ImportBound | None,
    file_id: str,
    progress: DeltaGenerator,
    lang: str,
) -> tuple[Outcome, str | None]:
    """Each conversation stored once, the bar moving; which one to open (the newest)."""
    skipped = Counter(batch.tally.conversations)
    total, imported, messages = len(batch.found), 0, 0
    newest: tuple[float, str] | None = None
    shown = -1
    for number, found in enumerate(batch.found):
        percent = number * 100 // max(total, 1)
        if percent != shown:  # at most a hundred updates, however long the file
            shown = percent
            progress.progress(
                number / max(total, 1), text=t(lang, "import_saving", done=number, total=total)
            )
        # A demo visitor's file counted once when read; each further conversation counts too.
        if number and bound is not None and bound(0) is not None:
            skipped["demo"] += total - number
            break
        if not journal.import_once(found, batch.source):
            skipped["already"] += 1
            continue
        imported += 1
        messages += len(found.conversation.tree)
        if newest is None or found.updated_at > newest[0]:
            newest = (found.updated_at, found.conversation.id)
    outcome = Outcome(
        file_id, batch.source, imported, messages, skipped, Counter(batch.tally.messages)
    )
    return outcome, newest[1] if newest is not None else None


def show_summary(lang: str, upload_key: str) -> None:
    """The last import's summary, while the uploader still holds its file."""
    outcome: Outcome | None = st.session_state.get(_SUMMARY)
    upload = st.session_state.get(upload_key)
    if outcome is None:
        return
    if upload is None or upload.file_id != outcome.file_id:
        del st.session_state[_SUMMARY]
        return
    lines = summary_lines(outcome, lang)
    box = st.success if outcome.imported else st.info
    box("\n".join(f"- {line}" for line in lines), icon=":material/upload_file:")
