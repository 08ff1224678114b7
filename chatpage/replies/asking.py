"""Asking for a reply, and showing one as it is written.

A reply is written by a task of the app process (`replies.py`), not by the page run that
asked for it, so switching conversation, reloading or closing the tab never cuts it. This
module starts that task once every check has passed, and shows a reply the process is
writing as it arrives. Every exit is accounted for: a limit of the page's own settles the
reply as failed with nothing sent upstream; a deleted conversation refuses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import streamlit as st

from chatpage.access.quota import Preflight
from chatpage.access.refusal import Refused
from chatpage.data import comparison
from chatpage.data.conversation import Conversation, ErrorInfo, Message, Status
from chatpage.data.failures import explain
from chatpage.data.project_prompt import ProjectContext, ReferencesCut
from chatpage.database.usage import Allowance
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.operations.audit import audit
from chatpage.replies.render import write_progressively
from chatpage.replies.tasks import Replies, ReplyTask, Request
from liaobots_core import LiaobotsClient

log = logging.getLogger(__name__)


def begin_reply(
    conversation: Conversation,
    client: LiaobotsClient,
    *,
    continuing: Message | None,
    journal: Journal,
    replies: Replies,
    max_per_person: int,
    preflight: Preflight | None = None,
    session: str | None = None,
    allowances: tuple[Allowance, ...] = (),
    model_id: str | None = None,
    project: ProjectContext | None = None,
) -> None:
    """Start writing a reply (or the rest of a cut one) on the process's reply tasks.

    The reply is stored before the first byte is asked for. A preflight refusal (a limit
    reached), no room for another reply or a person's limit reached settles it as failed
    without any request. `model_id` writes it with another model than the conversation's
    (a comparison). A conversation in a `project` sends the project's instructions and
    files with its own system prompt. Raises ConversationGone when the conversation was
    deleted elsewhere.
    """
    model_id = model_id or conversation.model_id
    wire = conversation.wire_messages(then_continue=continuing is not None)
    refusal = preflight(wire) if preflight is not None else None
    if refusal is not None:
        audit("refused", journal.owner, conversation=conversation.id, **refusal.to_dict())
    if continuing is None:
        reply = conversation.start_reply(model_id)
        if refusal is not None:
            reply.status, reply.error = Status.FAILED, refusal
        journal.add(conversation, reply)
        if refusal is not None:
            return
    else:
        reply = continuing
        if refusal is not None:
            reply.error = refusal  # shown once under the reply; its text and status stay
            return
        before = reply.status, reply.error
        reply.status, reply.error = Status.STREAMING, None
        if not journal.resume(conversation, reply):
            reply.status, reply.error = before
            journal.refresh(conversation)  # another window took it up: it is shown live
            return
    system_prompt, cut = conversation.system_prompt, None
    if project is not None:
        system_prompt, cut = project.prompt(system_prompt, len(wire[-1]["content"]))
    request = Request(
        conversation_id=conversation.id,
        owner=journal.owner,
        wire=wire,
        model_id=model_id,
        system_prompt=system_prompt or None,
        session=session,
        allowances=allowances,
        temperature=conversation.temperature,
        references_cut=cut,
        revision=conversation.revision,
    )
    try:
        replies.start(request, reply, client, max_per_person=max_per_person)
    except Refused as refused:
        reply.status, reply.error = Status.FAILED, refused.error
        audit("refused", journal.owner, conversation=conversation.id, **reply.error.to_dict())
        journal.settle(conversation, reply)


def begin_compared_replies(
    conversation: Conversation,
    client: LiaobotsClient,
    models: Sequence[str],
    *,
    journal: Journal,
    **asking: Any,
) -> None:
    """Start one reply per model to the question at the end of the branch on show, side by
    side (`comparison.py`): siblings under it, each a reply task of its own, each counted
    against the person's and the process's limits. One refused (no room, a limit) is
    settled as failed and says why in its column; the others go all the same.
    """
    question = conversation.last
    if question is None or question.role != "user" or len(models) < 2:
        begin_reply(conversation, client, continuing=None, journal=journal, **asking)
        return
    heard_before = journal.changed_elsewhere
    started: list[str] = []
    for model_id in models:
        conversation.rewind_to(question.id)  # each reply answers the question, not the last
        begin_reply(
            conversation, client, continuing=None, journal=journal, model_id=model_id, **asking
        )
        started.append(conversation.leaf_id or "")
    # A compared reply that ended in the meantime moved the revision on: that is no news
    # from another window.
    journal.changed_elsewhere = heard_before
    comparison.start(conversation, started)
    journal.compare(conversation)
    journal.changed_elsewhere = heard_before


def show_own_reply(
    task: ReplyTask,
    conversation: Conversation,
    lang: str,
    pace: Callable[[], float],
    shown: Callable[[], None] | None = None,
) -> None:
    """Show a reply this process is writing, from where it is now until it ends.

    `shown` is called once its first texts are drawn: what can wait for the first words (each
    change the browser redraws) waits for them. The page run may end first (a rerun, another
    conversation opened, the tab closed): the reply goes on being written all the same.
    """
    text, start = task.snapshot()
    events = task.follow(start, pace=pace)
    write_progressively(
        _then(events, shown) if shown is not None else events,
        text,
        task.reply,
        lang,
        saving_failed=lambda: task.saving_failed,
    )
    _notes(conversation, task.dropped, task.over_budget, lang)
    _references_note(task.request.references_cut, lang)


def _then(events: Iterator[str | None], shown: Callable[[], None]) -> Iterator[str | None]:
    """`events`, calling `shown` once the second text is drawn.

    Not after the first: the browser handles what comes right behind the first text before it
    draws it, so the first words would wait for it all the same.
    """
    texts = 0
    for event in events:
        yield event
        texts += bool(event)
        if texts == 2:
            shown()
            break
    yield from events


def _references_note(cut: ReferencesCut | None, lang: str) -> None:
    """Say that the project's reference files were cut to fit the model, and how far."""
    if cut is not None:
        st.caption(
            ":material/content_cut: "
            + t(lang, "references_cut_note", sent=cut.sent_chars, total=cut.total_chars)
        )


def _notes(conversation: Conversation, dropped: int, over_budget: bool, lang: str) -> None:
    """Say quietly, once per conversation, that older turns were left out."""
    noted: set[str] = st.session_state.setdefault("_trim_noted", set())
    if dropped and conversation.id not in noted:
        noted.add(conversation.id)
        st.caption(t(lang, "trimmed_note", count=dropped))
    if over_budget:
        st.caption(t(lang, "over_budget_note"))


def show_failure(error: ErrorInfo, lang: str) -> None:
    level, text = explain(error, lang)
    (st.warning if level == "warning" else st.error)(text, icon="⚠️")
