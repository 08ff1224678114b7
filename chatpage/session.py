"""The page's per-browser state: the open conversation and what the next run must do.

Buttons do not act in the middle of a run; their callbacks record an intent here, and the
run that follows carries it out. That keeps every change to the conversation in one place.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.runtime.scriptrunner import get_script_run_ctx

from chatpage.access.identity import Visitor
from chatpage.access.limits import FILE_MAX_BYTES, message_problem, without_controls
from chatpage.access.refusal import Refused
from chatpage.data import comparison
from chatpage.data.attachments import Upload
from chatpage.data.conversation import Attachment, Conversation, ErrorInfo, Status
from chatpage.data.extraction import read_all
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.operations import metrics
from chatpage.operations.audit import Field, audit
from chatpage.replies.tasks import Replies
from chatpage.views.guard import guarded
from liaobots_core import DEFAULT_MODEL_ID

log = logging.getLogger(__name__)

PendingKind = Literal["reply", "continue"]

URL_KEY = "c"
_CONVERSATION = "conversation"
_ASKED = "conversation_asked"  # the conversation the page switched to, for the run that shows it
_NOT_FOUND = "conversation_not_found"
_GONE = "conversation_gone"
_VISITOR = "visitor_key"
_REFUSED = "refused_input"
_GIVE_BACK = "give_back_input"
_WHO = "audit_who"  # the visitor's owner key, for audit lines written from callbacks
_SIGNED_IN = "audit_signed_in"  # the owner whose sign-in this browser session logged
_GATE = "audit_gate"  # the gate refusals this browser session logged
INPUT_KEY = "chat_input"
_ATTACHED = "attached_files"  # the files of the message just checked, read into text
_INTENT = "intent"
_EDITING = "editing_message"
_RATINGS = "ratings_shown"  # message id -> the rating its thumbs last showed from the store
EDIT_TEXT_KEY = "edit_text"
# A reply that ended before its end can be taken up again.
CONTINUABLE = (Status.STOPPED, Status.INTERRUPTED, Status.FAILED)


@dataclass(frozen=True)
class Intent:
    """What a button asked for, carried out by the run that follows it.

    It names the message the person was looking at, so a view made stale by another window
    still acts on what the person saw (a send from a stale view starts a branch there).
    """

    kind: Literal["send", "edit", "regenerate", "continue", "switch", "pick"]
    message_id: str | None = None
    text: str = ""
    attachments: tuple[Attachment, ...] = ()  # files sent with the message


def conversation(journal: Journal | None = None) -> Conversation:
    """The open conversation, as this tab last showed it.

    Given the journal (once a run, before anything is drawn), it follows the conversation the
    page switched to, or the URL's (`?c=`) where the URL speaks for the person (see
    `_to_open`). A URL naming a conversation that does not exist, or is not this person's,
    opens a new one and says "not found" the same way in both cases.
    """
    current: Conversation | None = st.session_state.get(_CONVERSATION)
    retry = False
    if journal is not None:
        current, retry = _follow(current, journal)
    if current is None:
        previous = st.session_state.get(_CONVERSATION)
        current = Conversation(model_id=previous.model_id if previous else DEFAULT_MODEL_ID)
    st.session_state[_CONVERSATION] = current
    if journal is not None and not retry:
        # Only now: Streamlit ends a run at any use of session state once a click is waiting,
        # so a switch cut short before this line is made by the next run.
        st.session_state.pop(_ASKED, None)
    return current


def _to_open(current: Conversation | None) -> str | None:
    """The conversation this run is asked to show, if any; kept as asked until it is shown.

    The browser sends its address with every rerun, and a rerun sent before it took in the
    `?c=` the page set in the run before carries the old one. So the URL is followed only
    where it speaks for the person: the tab's first run (a link, a bookmark, a reload) and
    Back or Forward. The page's own switches (`open_conversation`) always hold.
    """
    asked: str | None = st.session_state.get(_ASKED)
    if asked is not None:
        return asked
    if current is None or _went_back_or_forward():
        wanted = st.query_params.get(URL_KEY)
        if wanted is not None:
            st.session_state[_ASKED] = wanted
        return wanted
    return None


def _follow(current: Conversation | None, journal: Journal) -> tuple[Conversation | None, bool]:
    """The conversation to show, and whether the one asked for is to be tried again."""
    in_url = st.query_params.get(URL_KEY)
    wanted = _to_open(current)
    if wanted is None:
        if current is not None and current.messages and _went_back_or_forward():
            _forget_intents()  # Back to the page with no conversation named: a new chat
            return _new_like(current), False
        if current is not None and not current.messages and in_url not in (None, current.id):
            del st.query_params[URL_KEY]  # a stale address on a new chat (one with
            # messages puts its own back: `remember_in_url`)
        return current, False
    if current is not None and current.id == wanted:
        return current, False
    _forget_intents()
    loaded = journal.load(wanted) if _plausible_id(wanted) else None
    if loaded is not None:
        st.query_params[URL_KEY] = loaded.id
    elif journal.failed:
        return None, True  # the database failed it: the next run tries again
    else:
        st.session_state[_NOT_FOUND] = True
        if URL_KEY in st.query_params:
            del st.query_params[URL_KEY]
    return loaded, False


def _went_back_or_forward() -> bool:
    """Whether this run came from the browser's Back or Forward (its address is the person's)."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.is_history_navigation)


def _new_like(old: Conversation) -> Conversation:
    """A new chat that keeps the open one's model and settings, as "New chat" does."""
    return Conversation(
        model_id=old.model_id, system_prompt=old.system_prompt, temperature=old.temperature
    )


def refresh(current: Conversation, journal: Journal) -> bool:
    """Take in what other windows wrote since this tab last drew the conversation.

    False when the conversation was deleted elsewhere: the tab keeps showing its copy.
    """
    if journal.refresh(current):
        return True
    st.session_state[_GONE] = current.id
    return False


def apply_intent(
    intent: Intent | None,
    current: Conversation,
    journal: Journal,
    replies: Replies,
    room: Callable[[], None] | None = None,
) -> PendingKind | None:
    """Apply what the person asked for to the conversation and the store.

    Returns the reply to produce next, if any. Raises ConversationGone when the
    conversation was deleted elsewhere (the caller gives the text back). When there is no
    room for another reply, nothing is done and the page says why (an edit stays open).
    """
    if intent is None:
        return None
    viewed = intent.message_id
    if viewed is not None and viewed not in current.tree:
        return None  # a button of another conversation, or of a view long gone
    if intent.kind in ("edit", "regenerate", "continue") and room is not None:
        busy = no_room(room)
        if busy is not None:
            _refused(busy)
            if intent.kind == "edit":
                set_editing(viewed)
                st.session_state[EDIT_TEXT_KEY] = intent.text
            return None
    if intent.kind == "send":
        if viewed is not None and current.children(viewed):
            journal.changed_elsewhere = True  # what the person saw was continued meanwhile
        if viewed is not None and current.tree[viewed].status is Status.STREAMING:
            # Sent while the reply was still being written: it stops there, text kept.
            stop_reply(journal, replies, current.id, viewed)
            journal.refresh(current)
        current.rewind_to(viewed)  # after what the person saw, whatever came since
        # The address names the conversation once the reply's first words are drawn
        # (`remember_in_url`): changing it re-renders the whole page in the browser.
        journal.add(current, current.add_user(intent.text, intent.attachments))
        return "reply"
    if intent.kind == "edit" and viewed is not None:
        journal.add(current, current.edit(viewed, intent.text))
        return "reply"
    if intent.kind == "regenerate" and viewed is not None:
        current.branch_for_new_reply(viewed)
        return "reply"
    if intent.kind == "continue" and viewed is not None:
        chosen = current.tree[viewed]
        if chosen.role == "assistant" and chosen.status in CONTINUABLE:
            current.rewind_to(viewed)
            return "continue"
        return None
    if intent.kind == "switch" and viewed is not None:
        current.switch_to(viewed)
        journal.show_branch(current)
    if intent.kind == "pick" and viewed is not None and comparison.pick(current, viewed):
        current.model_id = current.tree[viewed].model_id or current.model_id
        journal.compare(current)
    return None


def submitted(value: object) -> tuple[str, list[Any]] | None:
    """The text and the files of what the chat input sent (None: nothing was sent)."""
    if isinstance(value, str):
        return value, []
    if isinstance(value, Mapping) and isinstance(value.get("text"), str):
        files = value.get("files") or []
        return value["text"], list(files) if isinstance(files, list) else []
    return None


def accepted(
    sent: tuple[str, list[Any]],
    limit: int,
    journal: Journal | None = None,
    room: Callable[[], None] | None = None,
    max_file_bytes: int = FILE_MAX_BYTES,
) -> tuple[Attachment, ...] | None:
    """The files of a message the run is about to send, read into text; None if refused.

    `check_submitted` passes a message before the run sees it. Streamlit can still hand the
    run a message that check never passed: a re-run that cuts a callback short replays the
    submission without calling the callback again (1.67's replay triggers), so a refused
    message would go out without its files. Such a message is judged here, the same way;
    the input is drawn already, so a refused one is given back for the next run to show.
    """
    if _ATTACHED in st.session_state:
        return st.session_state.pop(_ATTACHED)
    text, files = sent
    attachments, problem = _judged(text, files, limit, journal, room, max_file_bytes)
    if problem is None:
        return attachments
    give_back(without_controls(text) if text.strip() else "", problem)
    return None


@guarded
def check_submitted(
    limit: int,
    journal: Journal | None = None,
    room: Callable[[], None] | None = None,
    max_file_bytes: int = FILE_MAX_BYTES,
) -> None:
    """Refuse a message that cannot be sent before the run sees it, and give it back.

    The text goes back into the input (without control characters), so a refused message
    is never lost: the person fixes it and sends it again. Its files are read here (text,
    PDF, DOCX), each in a bounded child process (`extraction`), with a spinner meanwhile;
    one that cannot be sent (too big, an image, binary, unreadable, past a limit of its
    reading) refuses the whole message. Streamlit cannot put files back into the input, so
    the reason says to attach them again. A message for a conversation deleted in another
    window is refused the same way, and so is one for which there is no
    room (`room` raises Busy when the person or the process writes all the replies allowed,
    OverLimit past a person's limit, NoBalance when the service's balance is used up).
    """
    st.session_state.pop(_ATTACHED, None)
    sent = submitted(st.session_state.get(INPUT_KEY))
    if sent is None:
        return
    text, files = sent
    attachments, problem = _judged(text, files, limit, journal, room, max_file_bytes)
    if problem is None:
        st.session_state[_ATTACHED] = attachments
        return
    _refused(problem)
    st.session_state[INPUT_KEY] = without_controls(text) if text.strip() else None


def _judged(
    text: str,
    files: list[Any],
    limit: int,
    journal: Journal | None,
    room: Callable[[], None] | None,
    max_file_bytes: int,
) -> tuple[tuple[Attachment, ...], ErrorInfo | None]:
    """A message's files read into text, and why it cannot be sent (None: it can)."""
    attachments: tuple[Attachment, ...] = ()
    problem: ErrorInfo | None = None
    if files:
        try:
            with st.spinner(t(st.session_state.get("lang", "en"), "reading_files")):
                attachments = read_all(
                    [_upload(f, max_file_bytes) for f in files],
                    max_bytes=max_file_bytes,
                    max_chars=limit,
                )
        except Refused as refused:
            problem = refused.error
    if problem is None:
        problem = message_problem(text, limit, attachments)
    if problem is None and journal is not None:
        current: Conversation | None = st.session_state.get(_CONVERSATION)
        if current is not None and journal.is_gone(current):
            problem = ErrorInfo("conversation_deleted")
    if problem is None and room is not None:
        problem = no_room(room)
    return attachments, problem


def _upload(file: Any, max_bytes: int) -> Upload:
    """A file from the chat input; one over the bound is not copied, only measured."""
    size = int(file.size)
    data = b"" if size > max_bytes else bytes(file.getvalue())
    return Upload(str(file.name), data, str(file.type or ""), size=size)


def no_room(room: Callable[[], None]) -> ErrorInfo | None:
    """Why there is no room for another reply now, or None when there is."""
    try:
        room()
    except Refused as refused:
        return refused.error
    except SQLAlchemyError:  # cannot count: let it through, the page says the store failed
        return None
    return None


def _refused(problem: ErrorInfo) -> None:
    """The page says why on this run; the audit log notes the kind (never the text)."""
    st.session_state[_REFUSED] = problem
    audit("refused", who(), **problem.to_dict())


@guarded
def stop_reply(journal: Journal, replies: Replies, conversation_id: str, message_id: str) -> None:
    """Stop: the reply ends where it is, its text kept, whichever process writes it."""
    if not replies.stop(message_id):
        try:
            journal.store.request_stop(conversation_id, message_id, journal.owner)
        except SQLAlchemyError:
            log.exception("could not ask for a reply to stop")
            metrics.write_failed("stop")
            journal.failed = True


def shown_rating(message_id: str, stored: int | None) -> str:
    """The key of a reply's thumbs, set to the stored rating when that changed (another tab,
    a first look); a rating the person just gave here stays as it is. Call before drawing."""
    key = f"rating_{message_id}"
    shown: dict[str, int | None] = st.session_state.setdefault(_RATINGS, {})
    if key not in st.session_state or shown.get(message_id, -1) != stored:
        st.session_state[key] = stored
        shown[message_id] = stored
    return key


@guarded
def rate(journal: Journal, message_id: str, key: str) -> None:
    """The thumbs under a reply changed: store it (the store checks whose reply it is).

    Refused, or not stored, the thumbs go back to what they showed, and the page says why.
    """
    value = st.session_state.get(key)  # st.feedback("thumbs"): 1 up, 0 down, None cleared
    shown: dict[str, int | None] = st.session_state.setdefault(_RATINGS, {})
    try:
        journal.store.ratings.rate(journal.owner, message_id, None if value is None else value == 1)
    except Refused as refused:
        st.session_state[key] = shown.get(message_id)
        _refused(refused.error)
        return
    except SQLAlchemyError:
        log.exception("could not save a rating")
        metrics.write_failed("rating")
        st.session_state[key] = shown.get(message_id)
        st.session_state[_REFUSED] = ErrorInfo("rating_unsaved")
        return
    shown[message_id] = value


def take_refused_input() -> ErrorInfo | None:
    return st.session_state.pop(_REFUSED, None)


def give_back(text: str, problem: ErrorInfo) -> None:
    """A message that could not be stored goes back into the input, with the reason."""
    _refused(problem)
    st.session_state[_GIVE_BACK] = text


def restore_input() -> None:
    """Put a given-back message into the input; call before the input is drawn."""
    text = st.session_state.pop(_GIVE_BACK, None)
    if text is not None:
        st.session_state[INPUT_KEY] = text


def take_gone() -> bool:
    """Whether the open conversation was found deleted by another window (said once)."""
    return st.session_state.pop(_GONE, None) is not None


def visitor_key() -> str:
    """A random name for this browser session (an anonymous demo visitor's owner key)."""
    if _VISITOR not in st.session_state:
        st.session_state[_VISITOR] = secrets.token_urlsafe(18)
    return str(st.session_state[_VISITOR])


def note_visitor(visitor: Visitor, access: str) -> None:
    """Remember who this browser session is, for its audit lines; log a sign-in once.

    A sign-in is a visitor the page knows by name (`login`, `header`), logged on the first
    run of their browser session, not on every rerun; again only if the person changes.
    """
    st.session_state[_WHO] = visitor.owner
    if access in ("login", "header") and st.session_state.get(_SIGNED_IN) != visitor.owner:
        st.session_state[_SIGNED_IN] = visitor.owner
        audit("sign_in", visitor.owner, access=access)


def refused_at_gate(
    access: str, address: str | None, kind: str | None = None, **more: Field
) -> None:
    """Log, once per browser session, that the gate turned this visitor away, and why
    (`kind`: the connection's refusal, else what the access mode missed)."""
    kind = kind or {
        "login": "sign_in_needed",
        "header": "header_missing",
        "local": "not_local",
    }.get(access, "refused")
    logged: set[str] = st.session_state.setdefault(_GATE, set())
    if kind not in logged:
        logged.add(kind)
        audit("refused", None, kind=kind, access=access, address=address, **more)


def who() -> str | None:
    """The visitor's owner key as this browser session last identified them (None: unknown)."""
    return st.session_state.get(_WHO)


def open_id() -> str | None:
    current: Conversation | None = st.session_state.get(_CONVERSATION)
    return current.id if current else None


@guarded
def open_conversation(conversation_id: str) -> None:
    """Switch to a stored conversation (in this run when called before it draws the chat, else
    in the next); the URL follows so reloads and bookmarks work."""
    st.session_state[_ASKED] = conversation_id
    st.query_params[URL_KEY] = conversation_id


def remember_in_url(current: Conversation) -> None:
    if current.messages and st.query_params.get(URL_KEY) != current.id:
        st.query_params[URL_KEY] = current.id


def retitle(conversation_id: str, title: str) -> None:
    """Keep the open conversation's title in step with a rename in the list."""
    current: Conversation | None = st.session_state.get(_CONVERSATION)
    if current is not None and current.id == conversation_id:
        current.title = title.strip() or None


def use_model(conversation_id: str, model_id: str) -> None:
    """The open conversation goes on with this model (a compared reply picked)."""
    current: Conversation | None = st.session_state.get(_CONVERSATION)
    if current is not None and current.id == conversation_id:
        current.model_id = model_id


def take_not_found() -> bool:
    return bool(st.session_state.pop(_NOT_FOUND, False))


@guarded
def start_new_conversation() -> None:
    st.session_state.pop(_ASKED, None)  # the last switch wins
    st.session_state[_CONVERSATION] = _new_like(conversation())
    if URL_KEY in st.query_params:
        del st.query_params[URL_KEY]
    _forget_intents()


def _forget_intents() -> None:
    """A different conversation is open: a pending reply or an open edit no longer apply."""
    st.session_state.pop(_INTENT, None)
    st.session_state.pop(_EDITING, None)


def _plausible_id(value: str) -> bool:
    return 8 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)


def take_intent() -> Intent | None:
    """What the last button asked for, once."""
    return st.session_state.pop(_INTENT, None)


@guarded
def ask(kind: str, message_id: str | None, text: str = "") -> None:
    """A button's callback: record what to do; the next run does it."""
    st.session_state[_INTENT] = Intent(kind, message_id, text)  # type: ignore[arg-type]


def editing() -> str | None:
    """The id of the question whose edit form is open, if any."""
    return st.session_state.get(_EDITING)


@guarded
def set_editing(message_id: str | None) -> None:
    st.session_state[_EDITING] = message_id


@guarded
def save_edit(text_key: str, limit: int, message_id: str) -> None:
    """Send an edited question as a new version of it; the old one stays, with its branch.

    The edit passes the same check as a new message; a refused edit stays open to fix.
    """
    text = str(st.session_state.get(text_key, ""))
    current: Conversation | None = st.session_state.get(_CONVERSATION)
    edited = current.tree.get(message_id) if current is not None else None
    # The new version keeps the question's files: it may be files alone, and they count.
    problem = message_problem(text, limit, edited.attachments if edited is not None else ())
    if problem is not None:
        _refused(problem)
        return
    set_editing(None)
    ask("edit", message_id, text.strip())


_ARRIVED = "_arrived"


def first_run() -> bool:
    """Whether this is the session's first run: the page being opened (or reloaded)."""
    if _ARRIVED in st.session_state:
        return False
    st.session_state[_ARRIVED] = True
    return True
