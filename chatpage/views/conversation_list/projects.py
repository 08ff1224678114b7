"""The sidebar's projects: each a collapsible group of conversations with its own settings.

A project (database/projects.py) is a named group of a person's conversations with
instructions and reference files that every chat inside it sends. Here they are created,
renamed, given instructions and files, and deleted (asked first; the conversations stay, back
in the plain list); a conversation moves in and out from its menu; "New chat" inside a group
starts a chat that joins the project with its first message. Every action goes through the
journal's owner, as the list's do. Menus are drawn only while open, as the list's are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from chatpage import session
from chatpage.access.limits import FILE_MAX_BYTES, human_size, without_controls
from chatpage.access.refusal import Refused
from chatpage.data.attachments import Upload
from chatpage.data.conversation import Conversation
from chatpage.data.extraction import read_all
from chatpage.data.failures import explain
from chatpage.data.project_export import project_from, to_json_with_project
from chatpage.data.project_prompt import (
    FILES_MAX,
    INSTRUCTIONS_MAX_CHARS,
    PROJECTS_MAX,
    Project,
    ProjectContext,
)
from chatpage.database.conversations import Summary
from chatpage.database.schema import PROJECT_NAME_CHARS
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.operations.audit import audit
from chatpage.views.conversation_list.confirm import delete_asked_first
from chatpage.views.guard import guarded, storage_guarded
from chatpage.views.safe_markdown import safe

log = logging.getLogger(__name__)

PENDING = "project_of_new_chat"  # (the new conversation's id, its project's id)
SEARCH_SCOPE = "search_project"
NEW_PROJECT_MENU = "new_project_menu"
_CONFIRM_DELETE = "confirm_delete_project"
_SAID = "project_said"  # (level, words) to say on the next run, from a callback
GROUP_LIMIT = 200  # conversations listed across every project's group

Entry = Callable[[Summary, bool], None]  # draws one conversation of the list (open or not)


def _say(level: str, words: str) -> None:
    st.session_state[_SAID] = (level, words)


def _say_storage_failed() -> None:
    _say("warning", t(st.session_state.get("lang", "en"), "storage_failed"))


_storage_guarded = storage_guarded("project", _say_storage_failed)
"""A database failure in a button's action becomes a note on the page, not a traceback."""


def listed_projects(journal: Journal) -> list[Project]:
    try:
        return journal.store.projects.list(journal.owner)
    except SQLAlchemyError:
        log.exception("could not list projects")
        journal.failed = True
        return []


def new_project_menu(journal: Journal, lang: str) -> None:
    """The "New project" menu: a name, then Create."""
    menu = st.popover(
        t(lang, "new_project"),
        icon=":material/create_new_folder:",
        key=NEW_PROJECT_MENU,
        on_change="rerun",
        type="tertiary",
    )
    if menu.open:
        with menu:
            st.text_input(
                t(lang, "project_name"), max_chars=PROJECT_NAME_CHARS, key="new_project_name"
            )
            st.button(
                t(lang, "create_project"),
                key="create_project",
                icon=":material/add:",
                on_click=_create,
                args=(journal,),
            )
    said = st.session_state.pop(_SAID, None)
    if said is not None:
        level, words = said
        (st.warning if level == "warning" else st.error)(words, icon=":material/folder:")


def search_scope(projects: list[Project], lang: str) -> str | None:
    """While searching, where: everywhere, or one project. None: everywhere."""
    if not projects:
        return None
    names = {p.id: p.name for p in projects}
    chosen = st.selectbox(
        t(lang, "search_in"),
        options=["", *names],
        format_func=lambda pid: names.get(pid, t(lang, "search_everywhere")),
        key=SEARCH_SCOPE,
    )
    return chosen if chosen in names else None


def groups(
    journal: Journal,
    projects: list[Project],
    open_id: str,
    writing: frozenset[str],
    lang: str,
    entry: Entry,
    file_bounds: tuple[int, int],
) -> frozenset[str]:
    """Each project as a collapsible header with its conversations; the ids drawn."""
    if not projects:
        return frozenset()
    try:
        summaries = journal.store.list(
            journal.owner, limit=GROUP_LIMIT, writing=writing, in_projects=True
        )
        members = journal.store.projects.memberships(journal.owner)
    except SQLAlchemyError:
        log.exception("could not list the projects' conversations")
        journal.failed = True
        return frozenset()
    pending = st.session_state.get(PENDING)
    new_here = pending[1] if pending is not None and pending[0] == open_id else None
    for project in projects:
        inside = [s for s in summaries if members.get(s.id) == project.id]
        is_open = new_here == project.id or any(s.id == open_id for s in inside)
        with st.expander(safe(project.name), icon=":material/folder:", expanded=is_open):
            row = st.container(horizontal=True, vertical_alignment="center", gap="small")
            row.button(
                t(lang, "project_new_chat"),
                key=f"new_chat_in_{project.id}",
                icon=":material/edit_square:",
                type="tertiary",
                on_click=start_chat_in,
                args=(project.id,),
            )
            menu = row.popover(
                "",
                icon=":material/settings:",
                help=t(lang, "project_settings"),
                key=f"project_menu_{project.id}",
                on_change="rerun",
            )
            if menu.open:
                with menu:
                    _settings(journal, project, lang, file_bounds)
            if new_here == project.id:
                st.caption(t(lang, "project_new_chat_note"))
            for summary in inside:
                entry(summary, summary.id == open_id)
            if not inside and new_here != project.id:
                st.caption(t(lang, "project_empty"))
    return frozenset(s.id for s in summaries)


def _settings(journal: Journal, project: Project, lang: str, file_bounds: tuple[int, int]) -> None:
    """A project's name, instructions, reference files and Delete.

    Its files pass the bounds of a message's (`file_bounds`: bytes of one, characters of its
    text), read the same bounded way.
    """
    pid = project.id
    st.text_input(
        t(lang, "project_name"),
        value=project.name,
        max_chars=PROJECT_NAME_CHARS,
        key=f"project_name_{pid}",
    )
    st.button(
        t(lang, "rename"),
        key=f"rename_project_{pid}",
        icon=":material/edit:",
        on_click=_rename,
        args=(journal, pid),
    )
    st.text_area(
        t(lang, "project_instructions"),
        value=project.instructions,
        max_chars=INSTRUCTIONS_MAX_CHARS,
        help=t(lang, "project_instructions_help"),
        key=f"project_instructions_{pid}",
    )
    st.button(
        t(lang, "save_instructions"),
        key=f"save_instructions_{pid}",
        icon=":material/save:",
        on_click=_save_instructions,
        args=(journal, pid),
    )
    st.caption(t(lang, "project_files", limit=FILES_MAX))
    for file in journal.store.projects.files(journal.owner, pid):
        line = st.container(horizontal=True, vertical_alignment="center", gap="small")
        line.caption(f"{safe(file.name)} · {human_size(file.size)}")
        line.button(
            "",
            key=f"remove_file_{file.id}",
            icon=":material/close:",
            help=t(lang, "project_file_remove", name=file.name),
            type="tertiary",
            on_click=_remove_file,
            args=(journal, pid, file.id),
        )
    st.file_uploader(
        t(lang, "project_add_files"),
        accept_multiple_files=True,
        key=f"project_upload_{pid}",
        help=t(lang, "project_files_help"),
        on_change=_add_files,
        args=(journal, pid, *file_bounds),
    )
    delete_asked_first(
        pid,
        asked=_CONFIRM_DELETE,
        key=f"delete_project_{pid}",
        label=t(lang, "project_delete"),
        warning=t(lang, "project_delete_really", name=safe(project.name)),
        on_delete=_delete,
        args=(journal, pid),
    )


def move_menu(journal: Journal, conversation_id: str, lang: str) -> None:
    """In a conversation's menu: which project it is in (or none), to move it."""
    projects = journal.store.projects.list(journal.owner)
    if not projects:
        return
    names = {p.id: p.name for p in projects}
    current = journal.store.projects.of_conversation(journal.owner, conversation_id)
    options = ["", *names]
    st.selectbox(
        t(lang, "move_to_project"),
        options=options,
        index=options.index(current.id) if current is not None else 0,
        format_func=lambda pid: names.get(pid, t(lang, "no_project")),
        key=f"move_{conversation_id}",
        on_change=_move,
        args=(journal, conversation_id),
    )


def context_for(
    conversation: Conversation, journal: Journal, max_length: int
) -> ProjectContext | None:
    """What the conversation's project adds to its next request; None outside any."""
    if not conversation.revision:
        return None
    try:
        project = journal.store.projects.of_conversation(journal.owner, conversation.id)
        if project is None:
            return None
        files = journal.store.projects.files(journal.owner, project.id)
    except SQLAlchemyError:
        log.exception("could not read the conversation's project")
        journal.failed = True
        return None
    return ProjectContext(project.instructions, tuple(files), max_length)


def join_pending(conversation: Conversation, journal: Journal) -> None:
    """A chat started in a project joins it once its first message is stored."""
    pending = st.session_state.get(PENDING)
    if pending is None or pending[0] != conversation.id or not conversation.revision:
        return
    st.session_state.pop(PENDING, None)
    try:
        if journal.store.projects.move(journal.owner, conversation.id, pending[1]):
            conversation.revision += 1  # the move's own revision: not a change from elsewhere
    except SQLAlchemyError:
        log.exception("could not put a new chat into its project")
        journal.failed = True


# -- actions (buttons' callbacks) -----------------------------------------------------------


@guarded
def start_chat_in(project_id: str) -> None:
    session.start_new_conversation()
    st.session_state[PENDING] = (session.open_id(), project_id)


@guarded
@_storage_guarded
def _create(journal: Journal) -> None:
    lang = st.session_state.get("lang", "en")
    name = without_controls(str(st.session_state.get("new_project_name", ""))).strip()
    if not name:
        _say("warning", t(lang, "project_name_needed"))
        return
    project = journal.store.projects.create(journal.owner, name)
    if project is None:
        audit("refused", journal.owner, kind="project_too_many", limit=PROJECTS_MAX)
        _say("warning", t(lang, "project_too_many", limit=PROJECTS_MAX))
        return
    audit("project_created", journal.owner, project=project.id)
    st.session_state["new_project_name"] = ""
    st.session_state[NEW_PROJECT_MENU] = False
    st.toast(t(lang, "project_created", name=safe(project.name)), icon=":material/folder:")


@guarded
@_storage_guarded
def _rename(journal: Journal, project_id: str) -> None:
    typed = without_controls(str(st.session_state.get(f"project_name_{project_id}", "")))
    journal.store.projects.rename(journal.owner, project_id, typed)


@guarded
@_storage_guarded
def _save_instructions(journal: Journal, project_id: str) -> None:
    typed = str(st.session_state.get(f"project_instructions_{project_id}", ""))
    if journal.store.projects.set_instructions(journal.owner, project_id, without_controls(typed)):
        lang = st.session_state.get("lang", "en")
        st.toast(t(lang, "project_instructions_saved"), icon=":material/save:")


@guarded
@_storage_guarded
def _add_files(
    journal: Journal, project_id: str, max_bytes: int = FILE_MAX_BYTES, max_chars: int | None = None
) -> None:
    """Read the files as a message's are (bounded, in child processes) and keep their text."""
    lang = st.session_state.get("lang", "en")
    uploads = st.session_state.get(f"project_upload_{project_id}") or []
    if not uploads:
        return
    try:
        with st.spinner(t(lang, "reading_files")):
            read = read_all(
                [_upload(f, max_bytes) for f in uploads], max_bytes=max_bytes, max_chars=max_chars
            )
    except Refused as refused:
        audit("refused", journal.owner, **refused.error.to_dict())
        level, words = explain(refused.error, lang)
        _say(level, words)
        return
    refused_files = journal.store.projects.add_files(
        journal.owner, project_id, [(a.name, a.size, a.text) for a in read]
    )
    if refused_files is not None:
        audit("refused", journal.owner, kind=refused_files.key, limit=refused_files.limit)
        _say("warning", t(lang, refused_files.key, limit=refused_files.limit))
        return
    audit("project_files_added", journal.owner, project=project_id, files=len(read))


def _upload(file: Any, max_bytes: int) -> Upload:
    """A file from the uploader; one over the bound is not copied, only measured."""
    size = int(file.size)
    data = b"" if size > max_bytes else bytes(file.getvalue())
    return Upload(str(file.name), data, str(file.type or ""), size=size)


@guarded
@_storage_guarded
def _remove_file(journal: Journal, project_id: str, file_id: str) -> None:
    journal.store.projects.remove_file(journal.owner, project_id, file_id)


@guarded
@_storage_guarded
def _delete(journal: Journal, project_id: str) -> None:
    left = journal.store.projects.delete(journal.owner, project_id)
    st.session_state.pop(_CONFIRM_DELETE, None)
    if st.session_state.get(SEARCH_SCOPE) == project_id:
        st.session_state[SEARCH_SCOPE] = ""
    audit("project_deleted", journal.owner, project=project_id, conversations=len(left))
    lang = st.session_state.get("lang", "en")
    st.toast(t(lang, "project_deleted"), icon=":material/folder_off:")


@guarded
@_storage_guarded
def _move(journal: Journal, conversation_id: str) -> None:
    chosen = st.session_state.get(f"move_{conversation_id}") or None
    if journal.store.projects.move(journal.owner, conversation_id, chosen):
        audit("conversation_moved", journal.owner, conversation=conversation_id, project=chosen)


# -- export and import ----------------------------------------------------------------------


def export_json(conversation: Conversation, journal: Journal) -> str:
    """The conversation's JSON export, with its project (name, instructions, files) if any."""
    project, files = None, []
    if conversation.revision:
        try:
            project = journal.store.projects.of_conversation(journal.owner, conversation.id)
            if project is not None:
                files = journal.store.projects.files(journal.owner, project.id)
        except SQLAlchemyError:
            log.exception("could not read the conversation's project to export it")
    return to_json_with_project(conversation, project, files)


def adopt_imported(journal: Journal, data: bytes, conversation_id: str) -> None:
    """An imported conversation joins the person's project the file names (made if none).

    A project of that name the person keeps already is joined as it is; its instructions and
    files stay theirs. Past the person's bound on projects, the conversation stays unsorted.
    """
    exported = project_from(data)
    if exported is None:
        return
    store, owner = journal.store.projects, journal.owner
    project = next((p for p in store.list(owner) if p.name == exported.name), None)
    if project is None:
        project = store.create(owner, exported.name, exported.instructions)
        if project is None:
            return
        if exported.files and store.add_files(owner, project.id, list(exported.files)):
            log.warning("an imported project's files were past its bounds; imported without")
    store.move(owner, conversation_id, project.id)
