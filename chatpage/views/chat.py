"""The end of the conversation and the input, as one fragment: a message re-runs only this.

A full run draws the sidebar and the conversation up to its last reply (`messages.history`).
Sending a message, and every button of what this fragment draws, re-runs only the fragment,
so what one message costs the server and the websocket does not grow with the saved
conversations or the length of the history. Anything that changes what the full run drew (a
button of an earlier message, the list, another window's change) re-runs the whole page.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import streamlit as st

from chatpage import session
from chatpage.access import balance
from chatpage.access.identity import Visitor
from chatpage.access.quota import Gate
from chatpage.access.refusal import OverLimit
from chatpage.backend import client_for
from chatpage.data import comparison
from chatpage.data.conversation import Conversation, ErrorInfo
from chatpage.database.conversations import ConversationGone, ConversationStore
from chatpage.database.usage import Allowance
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.replies.asking import begin_compared_replies, begin_reply, show_failure
from chatpage.replies.live import watch
from chatpage.replies.tasks import Replies
from chatpage.session import Intent, PendingKind
from chatpage.settings import Settings
from chatpage.views import (
    compare,
    guard,
    messages,
    settings_dialog,
    sidebar,
    tuning,
    window,
)
from chatpage.views.conversation_list import projects
from chatpage.views.conversation_list.library import open_entry, storage_failed_in_callback
from liaobots_core.models import UNSTATED_MAX_LENGTH

log = logging.getLogger(__name__)

_DRAWN_BY = "chat_drawn_by"  # the Page of the full run this fragment last ran in
# What a run that re-ran the page had to say, for its conversation: said on every run until
# the person's next action, since a later re-run (their reply ending) must not hide it.
_CARRIED = "chat_carried_notes"
_REDRAWN = "chat_redrawn"  # the last full run was asked for by the fragment of a full run


@dataclass(frozen=True, eq=False)
class Page:
    """What a full run hands the chat fragment; its re-runs reuse it as it was."""

    settings: Settings
    visitor: Visitor
    store: ConversationStore
    journal: Journal  # the full run's: what it found and wrote is said by the fragment
    replies: Replies
    lang: str
    conversation_id: str
    viewed: str | None  # the message the tab showed before the full run took in changes
    drawn: tuple[str, ...]  # the messages the full run drew, in order
    first: int  # where in the branch on show they start (the window: `views/window.py`)
    stored: bool  # the open conversation was still stored at the full run
    choices: sidebar.SidebarChoices | None  # None when the sidebar could not be drawn
    # What a new message goes to: the conversation's model, and those compared with it.
    models: tuple[str, ...] = ()

    @property
    def allowances(self) -> tuple[Allowance, ...]:
        """What this person may spend; admins are not limited."""
        return () if self.visitor.admin else self.settings.user_limits

    def room_to_send(self) -> None:
        """As `room`, for a new message: also NoBalance while the service's balance is used
        up. (Retry, Regenerate and Continue still go: a person trying again after a top-up.)
        """
        if self.choices is not None:
            balance.check(self.choices.backend)
        self.room()

    def room(self) -> None:
        """Raises Busy when the person or the process writes all the replies allowed, and
        OverLimit when the person has spent what they may (checked again as a reply starts).
        """
        self.replies.check_room(
            self.visitor.owner,
            self.settings.max_background_replies,
            session=self.visitor.session,
        )
        reached = self.store.usage.over(self.visitor.owner, self.allowances, time.time())
        if reached is not None:
            raise OverLimit(reached)


def carry_out(
    intent: Intent | None,
    conversation: Conversation,
    journal: Journal,
    page: Page,
) -> None:
    """Do what the person asked, and start the reply it calls for."""
    pending: PendingKind | None = None
    with guard.region("action", page.lang):
        try:
            pending = session.apply_intent(intent, conversation, journal, page.replies, page.room)
            if intent is not None and intent.kind == "switch" and intent.message_id:
                # Drawn however far back it is; scrolled to only if it was not drawn before.
                window.focus(conversation.id, intent.message_id, always_scroll=False)
        except ConversationGone:  # deleted in the instant since the input was checked
            session.give_back(intent.text if intent else "", ErrorInfo("conversation_deleted"))
    if pending is None or page.choices is None:
        return
    asking = {
        "journal": journal,
        "replies": page.replies,
        "max_per_person": page.settings.max_background_replies,
        "preflight": Gate(page.settings, page.store, page.visitor.quota_key),
        "session": page.visitor.session,
        "allowances": page.allowances,
    }
    with guard.region("reply", page.lang):
        projects.join_pending(conversation, journal)
        client = client_for(page.choices.backend)
        try:
            asked = intent is not None and intent.kind in ("send", "edit")
            comparing = asked and len(page.models) > 1
            models = page.models if comparing else (conversation.model_id,)
            # A project's files are cut to the smallest budget of the models that answer.
            budget = min(
                (m.max_length for m in page.choices.info.models if m.id in models),
                default=UNSTATED_MAX_LENGTH,
            )
            project = projects.context_for(conversation, journal, budget)
            if comparing:
                begin_compared_replies(conversation, client, page.models, project=project, **asking)
            else:
                begin_reply(
                    conversation,
                    client,
                    continuing=conversation.last if pending == "continue" else None,
                    project=project,
                    **asking,
                )
        except ConversationGone:  # deleted in the instant since the input was checked
            session.give_back(intent.text if intent else "", ErrorInfo("conversation_deleted"))


@st.fragment(key="chat")
def chat(page: Page) -> None:
    """The input, what was asked of it, and the conversation from where the full run stopped."""
    full_run = st.session_state.get(_DRAWN_BY) is not page
    st.session_state[_DRAWN_BY] = page
    lang = page.lang
    journal = page.journal if full_run else Journal(page.store, owner=page.visitor.owner)
    conversation = session.conversation()
    if conversation.id != page.conversation_id:  # opened, started or deleted from here
        _rerun_page(full_run, journal, conversation.id)
    # What this tab showed: a message sent now goes after it, whatever came since.
    viewed = page.viewed if full_run else conversation.leaf_id
    stored = page.stored if full_run else session.refresh(conversation, journal)

    checks = (page.settings.message_limit, journal, page.room_to_send)
    bounds = {"max_file_bytes": page.settings.max_file_bytes}
    with st.bottom:
        session.restore_input()
        gone = st.empty()  # said by the input while the balance is used up (filled below)
        prompt = st.chat_input(
            t(lang, "input_placeholder"),
            key=session.INPUT_KEY,
            # Any file, up to server.maxUploadSize: `check_submitted` says why one cannot be
            # sent (too big, an image, binary) and keeps the text. A file the browser itself
            # refuses (past maxUploadSize) is only marked on its chip, and the text goes alone.
            accept_file="multiple",
            on_submit=session.check_submitted,
            args=checks,
            kwargs=bounds,
        )
    intent = session.take_intent()
    sent = session.submitted(prompt)
    if sent is not None:
        attached = session.accepted(sent, *checks, **bounds)
        if attached is None:  # refused only now: given back into the input on the re-run
            st.rerun(scope="app" if full_run else "fragment")
        intent = Intent("send", viewed, sent[0], attached)
        session.set_editing(None)
    if intent is not None:
        st.session_state.pop(_CARRIED, None)  # said until now; this action has its own
    carry_out(intent, conversation, journal, page)
    after = page.first + len(page.drawn)
    if [m.id for m in conversation.messages[page.first : after]] != list(page.drawn):
        _rerun_page(full_run, journal, conversation.id)  # what the full run drew changed
    elif intent is not None and intent.kind == "pick" and not full_run:
        _rerun_page(full_run, journal, conversation.id)  # the model bar shows the model picked
    elif full_run:
        st.session_state.pop(_REDRAWN, None)

    if full_run:  # before a reply is followed: a full run must fill them (see `_sidebar`)
        _sidebar(page, journal, conversation)
    _notices(journal, lang, conversation.id)
    with guard.region("conversation", lang):
        if not conversation.messages:  # the way in when there is none; prompts to start from
            backend = page.choices.backend if page.choices is not None else None
            if backend is None or not settings_dialog.way_in(page.settings, backend, lang):
                st.caption(t(lang, "empty_state"))
            can_save = not page.settings.public_demo
            tuning.starters(journal, conversation, lang, can_save=can_save)
        compared = comparison.on_show(conversation)
        if compared:
            session.remember_in_url(conversation)
        followed = messages.tail(
            conversation,
            after,
            lang,
            limit=page.settings.message_limit,
            journal=journal,
            replies=page.replies,
            upto=-1 if compared else None,
            shown=lambda: session.remember_in_url(conversation),
        )
        tasks = [followed] if followed is not None else []
        if compared:  # replies of several models to the last question, side by side
            labels = {m.id: m.label for m in page.choices.info.models} if page.choices else {}
            tasks = compare.side_by_side(
                conversation,
                compared,
                lang,
                journal=journal,
                replies=page.replies,
                labels=labels,
            )
        # The open conversation is always in the address; a message's run puts it there
        # after the reply's first words (`shown`), or here if the reply had none.
        session.remember_in_url(conversation)
        if tasks:
            if len(tasks) == 1:  # its own end is in this copy already: not read again
                tasks[0].settled_in(conversation)
            journal.refresh(conversation)  # what else moved the stored revision on
            if all(task.done.is_set() for task in tasks):
                journal.seen(conversation.id)  # watched to its end here: not "new" in the list
            for task in tasks:
                if page.choices is not None and task.done.is_set():
                    balance.note_reply(page.choices.backend, task.reply)
        if not full_run:  # after the reply, so its first words come sooner
            _sidebar(page, journal, conversation)
        if stored and conversation.streaming() is None:  # follow other windows' changes
            stored_id = conversation.id if conversation.revision else None
            # The list's marks follow other conversations' replies live, except where everyone
            # shares one owner (open): there every person's reply would re-run every tab.
            listed = page.choices.listed if page.choices is not None else None
            shared = page.visitor.session is not None
            writing = listed.writing if listed is not None and not shared else None
            watch(journal, stored_id, conversation.revision, writing)
    if journal.failed or storage_failed_in_callback():
        st.warning(t(lang, "storage_failed"), icon=":material/database:")
    balance.notice(gone, page.choices.backend if page.choices is not None else None, lang)


def _sidebar(page: Page, journal: Journal, conversation: Conversation) -> None:
    """The sidebar's places that follow each message: the open conversation, the exports.

    A fragment may fill a place outside it only if it filled it in the last full run, so a
    full run fills them first thing; a message's run fills them after its reply (keeping
    what they showed until then), so nothing stands between Enter and the first words.
    """
    if page.choices is None:
        return
    with guard.region("sidebar", page.lang):
        open_entry(page.choices.listed, journal, conversation, page.lang)
        sidebar.downloads(page.choices.downloads, conversation, journal, page.lang)


def _notices(journal: Journal, lang: str, conversation_id: str) -> None:
    """What the person should know about this run, said once, above the newest messages."""
    changed, failed = _carried(conversation_id)
    journal.changed_elsewhere |= changed
    journal.failed |= failed
    guard.show_pending(lang)
    if session.take_not_found():
        st.warning(t(lang, "not_found"), icon=":material/search_off:")
    if session.take_gone():
        st.warning(t(lang, "deleted_elsewhere"), icon=":material/delete:")
    if journal.changed_elsewhere:
        st.info(t(lang, "changed_elsewhere"), icon=":material/sync:")
    refused = session.take_refused_input()
    if refused is not None and refused.kind != balance.GONE_KIND:  # said by the input
        show_failure(refused, lang)


def _carried(conversation_id: str) -> tuple[bool, bool]:
    """Whether a re-run carried "changed elsewhere" and "saving failed" for this conversation."""
    carried = st.session_state.get(_CARRIED)
    if carried is None or carried[0] != conversation_id:
        return False, False
    return carried[1], carried[2]


def _rerun_page(full_run: bool, journal: Journal, conversation_id: str) -> None:
    """Draw the whole page again: what the full run drew above is no longer on show.

    A full run that found it so (a send from a stale view, in the instant of the run) runs
    once more; should that not settle it, it goes on from where it is rather than loop.
    """
    if full_run and st.session_state.get(_REDRAWN):
        log.warning("the conversation changed twice during full runs; drawn from where it was")
        return
    if full_run:
        st.session_state[_REDRAWN] = True
    changed, failed = _carried(conversation_id)
    st.session_state[_CARRIED] = (
        conversation_id,
        changed or journal.changed_elsewhere,
        failed or journal.failed,
    )
    st.rerun()
