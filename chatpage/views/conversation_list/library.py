"""The sidebar's saved conversations: search, open, rename, delete, import (ours here,
ChatGPT's and Claude's in `importing`).

Every action goes through the journal's owner, so the list, the search and every change only
ever touch the person's own conversations.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.delta_generator import DeltaGenerator

from chatpage import session
from chatpage.access.limits import (
    FILE_MAX_BYTES,
    MESSAGE_MAX_CHARS,
    SEARCH_MAX_CHARS,
    TITLE_MAX_CHARS,
    human_size,
    without_controls,
)
from chatpage.data.conversation import Conversation
from chatpage.data.export import ImportRefused, from_json
from chatpage.data.foreign_imports import is_foreign
from chatpage.database.conversations import Summary
from chatpage.database.demo_usage import ImportBound
from chatpage.database.sharing import Sharer
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.operations.audit import audit
from chatpage.views import window
from chatpage.views.conversation_list import importing
from chatpage.views.conversation_list import projects as project_views
from chatpage.views.conversation_list.confirm import delete_asked_first
from chatpage.views.conversation_list.exporting import download_buttons
from chatpage.views.guard import guarded, storage_guarded
from chatpage.views.safe_markdown import safe

# The list shows the newest 25 and "Show more" adds 25 at a time (as LibreChat pages it):
# every entry costs each page load two widgets, and with a long list those were most of a
# page load's time on a busy server. Search finds any conversation, listed or not.
LIST_PAGE = 25
_SHOWN = "conversations_shown"
_ARCHIVE_VIEW = "showing_archive"
_CONFIRM_DELETE = "confirm_delete"
_IMPORT_KEY = "import_file"
_SHARE_FILES = "share_files_"  # + conversation id: the Share checkbox "include files' text"
_SHARE_NAME = "share_name_"  # + conversation id: the Share checkbox "show my name"
_STORAGE_FAILED = "storage_failed_in_callback"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listed:
    """What the list drew: the chat fragment adds the open conversation when it is missing."""

    ids: frozenset[str]
    writing: frozenset[str]  # the person's conversations with a reply being written right now
    searching: bool
    open_slot: DeltaGenerator  # where the open conversation goes when the list lacks it
    sharer: Sharer | None = None  # None: sharing is off (a public demo)
    slot_heading: str | None = None  # the heading it brings when no "Today" stands above it
    slot_caption: str | None = None  # what the slot says when it holds no conversation


def date_group(updated_at: float, now: float, zone: tzinfo) -> str:
    """Which heading of the list a conversation goes under, by the person's calendar."""
    day = datetime.fromtimestamp(updated_at, zone).date()
    today = datetime.fromtimestamp(now, zone).date()
    age = (today - day).days
    if age <= 0:
        return "group_today"
    if age == 1:
        return "group_yesterday"
    if age <= 7:
        return "group_week"
    return "group_older"


def browser_zone() -> tzinfo:
    """The browser's time zone, so "Today" is the person's today; UTC when unknown."""
    name = st.context.timezone
    try:
        return ZoneInfo(name) if isinstance(name, str) and name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


# A button centres its label; a list of titles is read from the left, as in every peer's.
_TITLES_FROM_THE_LEFT = """<style>
[class*="st-key-open_"] button { justify-content: flex-start; text-align: left; }
[class*="st-key-open_"] button > div { justify-content: flex-start; }
</style>"""


def conversation_list(
    journal: Journal,
    open_id: str,
    lang: str,
    sharer: Sharer | None = None,
    import_bound: ImportBound | None = None,
    file_bounds: tuple[int, int] = (FILE_MAX_BYTES, MESSAGE_MAX_CHARS),
) -> Listed:
    """The person's conversations: projects, then pinned, then by day; search; the archive;
    import. `file_bounds` bound a project's reference files (bytes of one, its characters)."""
    st.subheader(t(lang, "conversations"))
    st.html(_TITLES_FROM_THE_LEFT)  # style only: Streamlit puts it where it takes no space
    projects = project_views.listed_projects(journal)
    project_views.new_project_menu(journal, lang)
    query = st.text_input(
        t(lang, "search"),
        placeholder=t(lang, "search_placeholder"),
        max_chars=SEARCH_MAX_CHARS,
        key="conversation_search",
        label_visibility="collapsed",
    )
    searching = bool(query.strip())
    scope = project_views.search_scope(projects, lang) if searching else None
    in_archive = bool(st.session_state.get(_ARCHIVE_VIEW)) and not searching
    # A conversation the list lacks (started in this run) is new: it goes at the top of
    # "Today", as in the peers' lists; in a search or the archive, above the results.
    open_slot: DeltaGenerator | None = st.empty() if searching or in_archive else None
    slot_heading: str | None = None
    shown = int(st.session_state.get(_SHOWN, LIST_PAGE))
    if in_archive:
        st.button(
            t(lang, "back_to_list"),
            key="leave_archive",
            type="tertiary",
            icon=":material/arrow_back:",
            on_click=st.session_state.__setitem__,
            args=(_ARCHIVE_VIEW, False),
        )
    try:
        writing = journal.store.writing(journal.owner)
        grouped: frozenset[str] = frozenset()
        if not searching and not in_archive:
            grouped = project_views.groups(
                journal,
                projects,
                open_id,
                writing,
                lang,
                lambda summary, is_open: entry(journal, summary, is_open, lang, sharer),
                file_bounds,
            )
        summaries = journal.store.list(
            journal.owner,
            query,
            limit=shown + 1,
            writing=writing,
            archived=in_archive,
            project=scope,
            in_projects=False if projects and not searching and not in_archive else None,
        )
    except SQLAlchemyError:
        log.exception("could not list conversations")
        st.caption(":material/database: " + t(lang, "storage_failed"))
        if open_slot is None:
            open_slot = st.empty()
        return Listed(frozenset(), frozenset(), bool(query.strip()), open_slot, sharer)
    slot_caption = None
    if not summaries and not grouped:
        empty = "no_matches" if searching else "archive_empty" if in_archive else "no_conversations"
        if open_slot is None:  # the slot says it until it holds the new conversation
            open_slot, slot_heading = st.empty(), t(lang, "group_today")
            slot_caption = t(lang, empty)
            open_slot.caption(slot_caption)
        else:
            st.caption(t(lang, empty))
    more, summaries = len(summaries) > shown, summaries[:shown]
    heading, now, zone = None, time.time(), browser_zone()
    for summary in summaries:
        if not searching:  # results are ranked by time already; headings would only split them
            group = (
                "group_archived"
                if in_archive
                else "group_pinned"
                if summary.pinned
                else date_group(summary.updated_at, now, zone)
            )
            if group != heading:
                if open_slot is None and group == "group_today":  # the slot tops "Today"
                    st.caption(t(lang, group))
                    open_slot = st.empty()
                elif open_slot is None and group != "group_pinned":  # no "Today" listed
                    open_slot, slot_heading = st.empty(), t(lang, "group_today")
                    st.caption(t(lang, group))
                else:
                    st.caption(t(lang, group))
                heading = group
        entry(journal, summary, summary.id == open_id, lang, sharer, query if searching else "")
    if open_slot is None:  # only pinned conversations listed: "Today" comes after them
        open_slot, slot_heading = st.empty(), t(lang, "group_today")
    if more:
        st.button(
            t(lang, "show_more"),
            key="show_more_conversations",
            type="tertiary",
            icon=":material/expand_more:",
            on_click=st.session_state.__setitem__,
            args=(_SHOWN, shown + LIST_PAGE),
        )
    if not in_archive and not searching:
        st.button(
            t(lang, "archived_conversations"),
            key="show_archive",
            type="tertiary",
            icon=":material/archive:",
            on_click=st.session_state.__setitem__,
            args=(_ARCHIVE_VIEW, True),
        )
    if sharer is not None:
        _shared_links(journal, sharer, lang)
    _import(journal, lang, import_bound)
    # The archive is not the list the open conversation belongs in: it is not added there.
    return Listed(
        frozenset(s.id for s in summaries) | grouped,
        writing,
        searching or in_archive,
        open_slot,
        sharer,
        slot_heading=slot_heading,
        slot_caption=slot_caption,
    )


def entry(
    journal: Journal,
    summary: Summary,
    is_open: bool,
    lang: str,
    sharer: Sharer | None = None,
    found: str = "",
) -> None:
    """One conversation in the list: its title opens it, its menu renames or deletes it.

    A search's hit (`found`: what was searched) opens at the message holding it.
    """
    if is_open and summary.unseen:
        journal.seen(summary.id)  # the person is looking at it now
    icon, note = None, None
    if summary.writing:
        icon, note = ":material/progress_activity:", t(lang, "writing_now")
    elif summary.unseen and not is_open:
        icon, note = ":material/mark_chat_unread:", t(lang, "unseen_reply")
    elif summary.archived:
        icon, note = ":material/archive:", t(lang, "archived_note")
    # One line, the menu beside the title (a long title is cut short, not wrapped under it).
    row = st.container(horizontal=True, wrap=False, vertical_alignment="center", gap="small")
    row.button(
        safe(summary.title),  # a label is markdown: an image in a title must not load
        key=f"open_{summary.id}",
        type="primary" if is_open else "tertiary",
        icon=icon,
        help=note,
        on_click=window.opened_from_search if found else session.open_conversation,
        args=(summary.id, found) if found else (summary.id,),
        width="stretch",
    )
    # The menu's rename and delete are drawn only while it is open: a list of 100 costs a
    # page load 100 buttons and 100 closed menus, not 400 more widgets.
    menu = row.popover(
        "",
        icon=":material/more_vert:",
        type="tertiary",  # light, beside the title, as the peers' ⋮
        help=t(lang, "more_actions"),
        key=f"menu_{summary.id}",
        on_change="rerun",
    )
    if menu.open:
        with menu:
            _manage(journal, summary, lang, sharer)


def open_entry(listed: Listed, journal: Journal, conversation: Conversation, lang: str) -> None:
    """The open conversation in the list when the list, drawn before it was stored, lacks it.

    Drawn by the chat fragment on every run (a fragment must write a place outside it on
    each full run to keep it), so a first message lists its new conversation at once
    without re-sending the whole list.
    """
    stored = conversation.revision > 0
    if not stored or conversation.id in listed.ids or listed.searching:
        if listed.slot_caption is not None:  # "No conversations yet", until this one is
            listed.open_slot.caption(listed.slot_caption)
        else:
            listed.open_slot.empty()
        return
    # Drawn before a reply is followed, so without "writing": the open conversation shows that.
    summary = Summary(id=conversation.id, title=conversation.display_title, updated_at=time.time())
    with listed.open_slot.container():
        if listed.slot_heading is not None:
            st.caption(listed.slot_heading)
        entry(journal, summary, True, lang, listed.sharer)


def _manage(journal: Journal, summary: Summary, lang: str, sharer: Sharer | None) -> None:
    conversation_id, title = summary.id, summary.title
    if sharer is not None:
        _share_controls(journal, conversation_id, sharer, lang)
    project_views.move_menu(journal, conversation_id, lang)
    row = st.container(horizontal=True, gap="small")
    row.button(
        t(lang, "unpin" if summary.pinned else "pin"),
        key=f"pin_{conversation_id}",
        icon=":material/keep_off:" if summary.pinned else ":material/keep:",
        on_click=_pin,
        args=(journal, conversation_id, not summary.pinned),
    )
    row.button(
        t(lang, "restore" if summary.archived else "archive"),
        key=f"archive_{conversation_id}",
        icon=":material/unarchive:" if summary.archived else ":material/archive:",
        on_click=_archive,
        args=(journal, conversation_id, not summary.archived),
    )
    st.text_input(
        t(lang, "title_label"),
        value=title,
        max_chars=TITLE_MAX_CHARS,
        key=f"title_{conversation_id}",
    )
    st.button(
        t(lang, "rename"),
        key=f"rename_{conversation_id}",
        icon=":material/edit:",
        on_click=_rename,
        args=(journal, conversation_id),
    )
    download_buttons(st.container(), conversation_id, title, journal, lang)
    delete_asked_first(
        conversation_id,
        asked=_CONFIRM_DELETE,
        key=f"delete_{conversation_id}",
        label=t(lang, "delete"),
        warning=t(lang, "delete_really", title=safe(title)),
        on_delete=_delete,
        args=(journal, conversation_id),
    )


def _share_controls(journal: Journal, conversation_id: str, sharer: Sharer, lang: str) -> None:
    """Share: a read-only link to copy; once shared, the link and Stop sharing."""
    token = journal.store.shares.active(conversation_id, journal.owner)
    if token is None:
        # Asked at each Share, unticked: a link shares files' names and sizes and no name.
        st.checkbox(
            t(lang, "share_include_files"),
            key=f"{_SHARE_FILES}{conversation_id}",
            help=t(lang, "share_include_files_help"),
        )
        if sharer.name:
            st.checkbox(
                t(lang, "share_show_name", name=sharer.name),
                key=f"{_SHARE_NAME}{conversation_id}",
            )
        st.button(
            t(lang, "share"),
            key=f"share_{conversation_id}",
            icon=":material/share:",
            help=t(lang, "share_help"),
            on_click=_share,
            args=(journal, conversation_id, sharer.name),
        )
        return
    _link(journal, conversation_id, token, sharer, lang, key=f"unshare_{conversation_id}")


def _link(
    journal: Journal, conversation_id: str, token: str, sharer: Sharer, lang: str, *, key: str
) -> None:
    """The link, with the copy button `st.code` gives, and the button that stops it."""
    st.caption(t(lang, "share_link_note"))
    st.code(sharer.link(token), language=None, wrap_lines=True)
    st.button(
        t(lang, "stop_sharing"),
        key=key,
        icon=":material/link_off:",
        on_click=_unshare,
        args=(journal, conversation_id),
    )


def _shared_links(journal: Journal, sharer: Sharer, lang: str) -> None:
    """The person's active links in one place, each with Stop sharing."""
    try:
        links = journal.store.shares.links(journal.owner)
    except SQLAlchemyError:
        log.exception("could not list shared links")
        return
    if not links:
        return
    with st.expander(t(lang, "shared_links"), icon=":material/share:"):
        for link in links:
            st.text(link.title)  # as itself: a title is never markdown
            _link(
                journal,
                link.conversation_id,
                link.token,
                sharer,
                lang,
                key=f"unshare_listed_{link.conversation_id}",
            )


def _note_storage_failed() -> None:
    st.session_state[_STORAGE_FAILED] = True


_storage_guarded = storage_guarded("conversation", _note_storage_failed)
"""A database failure in a button's action becomes a note on the page, not a traceback."""


def storage_failed_in_callback() -> bool:
    return bool(st.session_state.pop(_STORAGE_FAILED, False))


@guarded
@_storage_guarded
def _rename(journal: Journal, conversation_id: str) -> None:
    """Read the title when the button is clicked, not when it was drawn."""
    typed = str(st.session_state.get(f"title_{conversation_id}", ""))
    title = without_controls(typed)[:TITLE_MAX_CHARS]
    if journal.store.rename(conversation_id, title, journal.owner):
        session.retitle(conversation_id, title)


@guarded
@_storage_guarded
def _pin(journal: Journal, conversation_id: str, pinned: bool) -> None:
    journal.store.pin(conversation_id, journal.owner, pinned)


@guarded
@_storage_guarded
def _archive(journal: Journal, conversation_id: str, archived: bool) -> None:
    if journal.store.archive(conversation_id, journal.owner, archived):
        lang = st.session_state.get("lang", "en")
        st.toast(t(lang, "archived" if archived else "restored"), icon=":material/archive:")


@guarded
@_storage_guarded
def _delete(journal: Journal, conversation_id: str) -> None:
    if journal.store.delete(conversation_id, journal.owner):
        audit("conversation_deleted", journal.owner, conversation=conversation_id)
    # Deleting is meant to make it go away: its links stop too (their snapshots are copies).
    journal.store.shares.revoke(conversation_id, journal.owner, time.time())
    st.session_state.pop(_CONFIRM_DELETE, None)
    if session.open_id() == conversation_id:
        session.start_new_conversation()
    st.toast(t(st.session_state.get("lang", "en"), "deleted"), icon=":material/delete:")


@guarded
@_storage_guarded
def _share(journal: Journal, conversation_id: str, name: str | None) -> None:
    """Share the conversation as it is stored now (only its owner can read it so), with the
    files' text and the person's name only as they chose by the Share button."""
    lang = st.session_state.get("lang", "en")
    stored = journal.store.load(conversation_id, journal.owner)
    if stored is None or not stored.messages:
        st.toast(t(lang, "share_empty"), icon=":material/info:")
        return
    include_files = bool(st.session_state.get(f"{_SHARE_FILES}{conversation_id}"))
    show_name = bool(st.session_state.get(f"{_SHARE_NAME}{conversation_id}"))
    journal.store.shares.share(
        stored,
        journal.owner,
        name if show_name else None,
        time.time(),
        include_files=include_files,
    )
    audit(  # never the token
        "conversation_shared",
        journal.owner,
        conversation=conversation_id,
        files=include_files,
        named=show_name and bool(name),
    )


@guarded
@_storage_guarded
def _unshare(journal: Journal, conversation_id: str) -> None:
    if journal.store.shares.revoke(conversation_id, journal.owner, time.time()):
        audit("sharing_stopped", journal.owner, conversation=conversation_id)
        lang = st.session_state.get("lang", "en")
        st.toast(t(lang, "sharing_stopped"), icon=":material/link_off:")


def _import(journal: Journal, lang: str, bound: ImportBound | None) -> None:
    st.file_uploader(
        t(lang, "import"),
        type=["json", "zip"],
        key=_IMPORT_KEY,
        help=t(lang, "import_help"),
        on_change=_import_file,
        args=(journal, lang, bound),
    )
    importing.import_pending(journal, lang, bound, _IMPORT_KEY)  # ChatGPT's, Claude's
    refused = st.session_state.pop("import_refused", None)
    if refused is not None:
        st.error(t(lang, refused.key, **refused.values), icon=":material/block:")
    importing.show_summary(lang, _IMPORT_KEY)


@guarded
@_storage_guarded
def _import_file(journal: Journal, lang: str, bound: ImportBound | None = None) -> None:
    """Open an export as a new conversation; within a public demo's daily bounds (`bound`).

    ChatGPT's and Claude's exports (a .zip, or a JSON list) are read in the script instead,
    where a progress bar can show (`importing.import_pending`).
    """
    upload = st.session_state.get(_IMPORT_KEY)
    if upload is None:
        return
    if is_foreign(upload.getvalue()):
        st.session_state[importing.PENDING] = True
        return
    size = len(upload.getvalue())
    try:
        imported = from_json(upload.getvalue())
        over = bound(size) if bound is not None else None  # counts it, when within bounds
        if over is not None:
            limit = human_size(over.limit) if over.key == "import_demo_bytes" else over.limit
            raise ImportRefused(over.key, limit=limit)
    except ImportRefused as refused:
        st.session_state["import_refused"] = refused
        audit("refused", journal.owner, kind=refused.key, size=size)
        return
    journal.create(imported)
    project_views.adopt_imported(journal, upload.getvalue(), imported.id)
    audit(
        "conversation_imported",
        journal.owner,
        conversation=imported.id,
        messages=len(imported.tree),
    )
    session.open_conversation(imported.id)
    title = safe(imported.display_title)
    st.toast(t(lang, "imported", title=title), icon=":material/upload_file:")
