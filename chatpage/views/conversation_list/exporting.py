"""A conversation's downloads, as Markdown and as JSON: under the list for the open one, and
in each entry's ⋮ menu for any other (as ChatGPT and Open WebUI offer them).

The files are made when a button is clicked, from the store: a run's cost stays independent
of a conversation's length, and the file holds what was saved last, the branch on show
included. Reading goes through the journal's owner, so a download is only ever one's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from streamlit.delta_generator import DeltaGenerator

from chatpage.data.conversation import Conversation
from chatpage.data.export import file_stem, to_markdown
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.views.conversation_list.projects import export_json

log = logging.getLogger(__name__)


class ExportUnavailable(LookupError):
    """The conversation could not be read (deleted meanwhile, or the store failed): the
    browser is told the file could not be made, rather than given an empty one."""


def download_buttons(
    slot: DeltaGenerator,
    conversation_id: str,
    title: str,
    journal: Journal,
    lang: str,
    *,
    unsaved: Conversation | None = None,
) -> None:
    """Markdown and JSON downloads of one conversation, side by side in `slot`.

    `unsaved`: the open conversation, given when the store cannot be read (what the person
    sees is then what they get).
    """

    def current() -> Conversation:
        try:
            stored = journal.store.load(conversation_id, journal.owner)
        except SQLAlchemyError:
            log.exception("could not load a conversation to export")
            stored = None
        if stored is not None:
            return stored
        if unsaved is None:
            raise ExportUnavailable(conversation_id)
        return unsaved

    stem = file_stem(title)
    made: tuple[tuple[str, Callable[[], str], str, str], ...] = (
        ("md", lambda: to_markdown(current(), lang), "text/markdown", "download_md"),
        ("json", lambda: export_json(current(), journal), "application/json", "download_json"),
    )
    for column, (suffix, data, mime, label) in zip(slot.columns(2), made, strict=True):
        column.download_button(
            t(lang, label),
            data=data,
            on_click="ignore",
            file_name=f"{stem}.{suffix}",
            mime=mime,
            icon=":material/download:",
            help=t(lang, "download_help"),
            width="stretch",
            # The open conversation's buttons are under the list and in its menu at once.
            key=f"{suffix}_{'open' if unsaved is not None else 'menu'}_{conversation_id}",
        )
