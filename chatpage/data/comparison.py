"""Comparing models on one question: which models, which replies, and the one picked.

A person picks two or three models and sends one message; each model's reply is a sibling
of the others under that question (versions of one reply, `‹ 1 / 3 ›`), recording its model.
While the comparison is open (`Conversation.comparing`) the page shows them side by side, and
the branch on show ends at the first; picking one makes it the branch on show, and the
conversation goes on with its model. Nothing is removed: the others stay as versions.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from chatpage.data.conversation import Conversation, Message

MAX_MODELS = 3  # replies side by side: more would not fit a page's width


def models_to_compare(
    primary: str, others: Sequence[str], available: Collection[str]
) -> tuple[str, ...]:
    """The models a message goes to: the chosen model first, then the others to compare it
    with, each once, only those the service offers, at most MAX_MODELS."""
    chosen: list[str] = []
    for model_id in (primary, *others):
        if model_id in available and model_id not in chosen:
            chosen.append(model_id)
    return tuple(chosen[:MAX_MODELS])


def on_show(conversation: Conversation) -> list[Message]:
    """The replies compared side by side at the end of the branch on show; none when no
    comparison is open there (the one-model path: a single check)."""
    if not conversation.comparing:
        return []
    last = conversation.last
    if last is None or last.id not in conversation.comparing:
        return []
    found = (conversation.tree.get(message_id) for message_id in conversation.comparing)
    return [m for m in found if m is not None and m.parent_id == last.parent_id]


def start(conversation: Conversation, reply_ids: Sequence[str]) -> None:
    """Open a comparison of these replies (siblings, stored already); the first is on show."""
    if len(reply_ids) < 2:
        return  # one reply is no comparison: it is the branch on show as ever
    conversation.comparing = tuple(reply_ids)
    conversation.rewind_to(reply_ids[0])


def pick(conversation: Conversation, reply_id: str) -> bool:
    """Go on with this reply of the open comparison; False if it is not one of them (a button
    of a comparison picked or ended elsewhere meanwhile)."""
    if reply_id not in conversation.comparing or reply_id not in conversation.tree:
        return False
    conversation.comparing = ()
    conversation.switch_to(reply_id)
    return True
