"""What ChatGPT's and Claude's exports become here, whichever service wrote them.

Each service's reader (chatgpt_export.py, claude_export.py) turns its raw conversations into
`Node`s, each linked to its parent by the service's own id; `tree_from` makes them our
message tree. Every value comes from a file nobody here controls: a text is cut and cleaned
by the one rule, a time that is not a plausible date falls back to a neighbour's, a parent
link that dangles or closes a cycle makes a root, and what is left out is counted by reason
(`Tally`) so the page can say what it did not keep.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from chatpage.access.limits import (
    FOREIGN_MAX_CONVERSATIONS,
    FOREIGN_MAX_MESSAGES,
    FOREIGN_MAX_NODES,
    FOREIGN_MAX_TEXT_CHARS,
    IMPORT_MAX_MESSAGES,
    TITLE_MAX_CHARS,
    without_controls,
)
from chatpage.data.conversation import Attachment, Conversation, Message, Role
from liaobots_core import DEFAULT_MODEL_ID
from liaobots_core.models import MODEL_ID_MAX_CHARS

CHATGPT = "chatgpt"
CLAUDE = "claude"
SOURCES = (CHATGPT, CLAUDE)
SOURCE_ID_MAX_CHARS = 100
LATEST_TIME = 253402300799.0  # the last second of the year 9999, as our own import allows

Messages = TypeVar("Messages", dict[Any, Any], list[Any])


@dataclass
class Tally:
    """What a file held that was not imported as it was, by reason (an i18n key's tail).

    `conversations`: whole conversations skipped ("empty", "damaged", "too_many"...);
    `messages`: messages left out or changed ("hidden", "tool", "image", "cut"...).
    """

    conversations: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)


@dataclass
class Found:
    """One conversation read from a file, with the service's id for it (to import it once)."""

    source_id: str
    conversation: Conversation
    updated_at: float


@dataclass
class Batch:
    """Everything one file gave: its conversations, and what was skipped or left out."""

    source: str
    found: list[Found]
    tally: Tally


@dataclass
class Node:
    """A message as a service keeps it: its id, its parent's id, and what we keep of it.

    `message` None: a node the page does not show (a system note, a tool's output); its
    children hang from its nearest kept ancestor instead.
    """

    id: str
    parent: str | None
    message: Message | None


def text(value: object, tally: Tally) -> str:
    """A message's text as it may be stored: cleaned by the one rule, cut (and counted)."""
    if not isinstance(value, str):
        return ""
    cleaned = without_controls(value)
    if len(cleaned) > FOREIGN_MAX_TEXT_CHARS:
        tally.messages["cut"] += 1
        return cleaned[:FOREIGN_MAX_TEXT_CHARS]
    return cleaned


def title(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = " ".join(without_controls(value).split())[:TITLE_MAX_CHARS]
    return cleaned or None


def file_name(value: object) -> str | None:
    """A file's name as a question's file may carry it: printable, no backticks, short."""
    if not isinstance(value, str):
        return None
    name = "".join(c for c in value if c.isprintable()).replace("`", "'").strip()
    return name[:TITLE_MAX_CHARS] or None


def attachment(name: object, size: object, content: object, tally: Tally) -> Attachment | None:
    """A file a service kept the text of (Claude does), as a file of the question."""
    shown = file_name(name)
    if shown is None:
        return None
    body = text(content, tally)
    plausible = type(size) is int and 0 <= size <= 2**40  # type: ignore[operator]
    return Attachment(name=shown, size=size if plausible else len(body.encode()), text=body)  # type: ignore[arg-type]


def model_id(value: object) -> str | None:
    plausible = isinstance(value, str) and 0 < len(value) <= MODEL_ID_MAX_CHARS
    return value if plausible and value.isprintable() else None  # type: ignore[return-value]


def seconds(value: object) -> float | None:
    """A time as seconds since 1970: a number (ChatGPT) or an ISO 8601 text (Claude)."""
    if isinstance(value, str) and len(value) <= 64:
        try:
            value = datetime.fromisoformat(value).timestamp()
        except (ValueError, OverflowError, OSError):
            return None
    plausible = isinstance(value, int | float) and not isinstance(value, bool)
    if plausible and 0 <= value <= LATEST_TIME:  # type: ignore[operator]  # NaN, inf fail it
        return float(value)  # type: ignore[arg-type]
    return None


def source_id(value: object, raw: object) -> str:
    """The service's id for a conversation, or a digest of what the file says of it."""
    if isinstance(value, str) and 0 < len(value) <= SOURCE_ID_MAX_CHARS and value.isprintable():
        return value
    digest = hashlib.sha256(
        repr(value if isinstance(value, str) else raw).encode("utf-8", "replace")
    )
    return "sha256:" + digest.hexdigest()


def message(role: Role, body: str, when: float | None, model: str | None = None) -> Message:
    """A kept message; a missing time is filled in by `tree_from` from its parent's."""
    kept = Message(role=role, text=body, model_id=model if role == "assistant" else None)
    kept.created_at = when if when is not None else -1.0
    return kept


def tree_from(
    nodes: list[Node], shown: str | None, tally: Tally, **fields: object
) -> Conversation | None:
    """Our tree from a service's nodes: each kept message under its nearest kept ancestor.

    `shown` is the service's id of the message its page showed last (ChatGPT's
    `current_node`); its nearest kept ancestor ends the branch on show, else the most recently
    written branch does. Nodes past `IMPORT_MAX_MESSAGES` are left out (counted), those on
    the shown branch first kept. None when nothing is left to show.
    """
    by_id: dict[str, Node] = {}
    for node in nodes:
        if node.id in by_id:  # an id given twice: the first wins
            tally.messages["damaged"] += 1
            continue
        by_id[node.id] = node
    parent = _acyclic_parents(by_id)
    kept_parent = _nearest_kept(by_id, parent)
    order = _parents_first(by_id, kept_parent)
    leaf = _kept_self_or_ancestor(shown, by_id, parent) if shown in by_id else None
    chosen = _within_limit(order, kept_parent, leaf, tally)
    if not chosen:
        return None
    conversation = Conversation(**fields)  # type: ignore[arg-type]
    for node_id in order:
        if node_id not in chosen:
            continue
        kept = by_id[node_id].message
        assert kept is not None
        above = kept_parent[node_id]
        kept.parent_id = by_id[above].message.id if above is not None else None  # type: ignore[union-attr]
        if kept.created_at < 0:  # no time of its own: just after its parent, or the start
            before = conversation.tree[kept.parent_id].created_at if kept.parent_id else None
            kept.created_at = before if before is not None else conversation.created_at
        conversation.tree[kept.id] = kept
    if leaf is not None and leaf in chosen:
        conversation.leaf_id = by_id[leaf].message.id  # type: ignore[union-attr]
        conversation.follow()  # a branch on show ends at a leaf, as the store loads it
    else:
        roots = conversation.children(None)
        newest = max(
            (conversation.newest_leaf(r.id) for r in roots),
            key=lambda i: conversation.tree[i].created_at,
        )
        conversation.leaf_id = newest
    return conversation


def _acyclic_parents(by_id: dict[str, Node]) -> dict[str, str | None]:
    """Each node's parent, with links to a missing node or closing a cycle cut (a root)."""
    parent: dict[str, str | None] = {
        i: n.parent if isinstance(n.parent, str) and n.parent in by_id else None
        for i, n in by_id.items()
    }
    state: dict[str, int] = {}  # 1: on the walk now; 2: known to reach a root
    for start in by_id:
        walk: list[str] = []
        node: str | None = start
        while node is not None and node not in state:
            state[node] = 1
            walk.append(node)
            above = parent[node]
            if above is not None and state.get(above) == 1:  # back onto this walk: a cycle
                parent[node] = above = None
            node = above
        for visited in walk:
            state[visited] = 2
    return parent


def _nearest_kept(by_id: dict[str, Node], parent: dict[str, str | None]) -> dict[str, str | None]:
    """For every node, its nearest ancestor that is kept (None: it hangs from the root)."""
    nearest: dict[str, str | None] = {}
    for start in by_id:
        walk: list[str] = []
        node = start
        while node not in nearest:
            walk.append(node)
            above = parent[node]
            if above is None:
                found: str | None = None
                break
            if by_id[above].message is not None:
                found = above
                break
            node = above
        else:
            found = nearest[node]
        for visited in walk:
            nearest[visited] = found
    return nearest


def _parents_first(by_id: dict[str, Node], kept_parent: dict[str, str | None]) -> list[str]:
    """The kept nodes, each after its kept parent, in the file's order otherwise."""
    depth: dict[str, int] = {}
    for start in by_id:
        walk: list[str] = []
        node: str | None = start
        while node is not None and node not in depth:
            walk.append(node)
            node = kept_parent[node]
        base = depth[node] if node is not None else -1
        for visited in reversed(walk):
            base += 1
            depth[visited] = base
    kept = [i for i, n in by_id.items() if n.message is not None]
    return sorted(kept, key=depth.__getitem__)  # stable: the file's order within a depth


def _kept_self_or_ancestor(
    node: str | None, by_id: dict[str, Node], parent: dict[str, str | None]
) -> str | None:
    seen: set[str] = set()
    while node is not None and node not in seen:
        if by_id[node].message is not None:
            return node
        seen.add(node)
        node = parent[node]
    return None


def _within_limit(
    order: list[str], kept_parent: dict[str, str | None], leaf: str | None, tally: Tally
) -> set[str]:
    """The kept nodes within `IMPORT_MAX_MESSAGES`: the shown branch first, then by depth."""
    if len(order) <= IMPORT_MAX_MESSAGES:
        return set(order)
    branch: list[str] = []
    node = leaf
    while node is not None:
        branch.append(node)
        node = kept_parent[node]
    chosen = set(branch[::-1][:IMPORT_MAX_MESSAGES])  # from its root: kept connected
    for node_id in order:  # parents come first, so a chosen node's parent is chosen
        if len(chosen) >= IMPORT_MAX_MESSAGES:
            break
        above = kept_parent[node_id]
        if above is None or above in chosen:
            chosen.add(node_id)
    tally.messages["too_many"] += len(order) - len(chosen)
    return chosen


def within_bounds(messages: object, kind: type[Messages], tally: Tally) -> Messages | None:
    """A conversation's messages as the service keeps them (ChatGPT's mapping, Claude's list),
    or None, counted, when they are not of that `kind` or are more than `FOREIGN_MAX_NODES`."""
    if not isinstance(messages, kind):
        tally.conversations["damaged"] += 1
        return None
    if len(messages) > FOREIGN_MAX_NODES:
        tally.conversations["too_big"] += 1
        return None
    return messages


def found(
    raw: dict[str, Any],
    nodes: list[Node],
    tally: Tally,
    *,
    shown: str | None,
    conversation_id: object,
    name: object,
    model: str,
    created: object,
    updated: object,
) -> Found | None:
    """The conversation `nodes` make, with its id and times from the service's raw values;
    None, counted as empty, when nothing in it is left to show. Both services' readers end
    here, so a conversation's times and id are settled the same way whichever wrote it.

    A missing creation time is the earliest kept message's (now, when none has one); the
    update time is never before the latest message.
    """
    created_at = seconds(created)
    conversation = tree_from(
        nodes,
        shown,
        tally,
        title=title(name),
        model_id=model,
        created_at=created_at if created_at is not None else _earliest(nodes),
    )
    if conversation is None:
        tally.conversations["empty"] += 1
        return None
    updated_at = seconds(updated)
    latest = max(m.created_at for m in conversation.tree.values())
    return Found(
        source_id=source_id(conversation_id, raw),
        conversation=conversation,
        updated_at=max(updated_at, latest) if updated_at is not None else latest,
    )


def _earliest(nodes: list[Node]) -> float:
    """Before `tree_from` fills them in, a message with no time of its own has -1."""
    times = [
        n.message.created_at for n in nodes if n.message is not None and n.message.created_at >= 0
    ]
    return min(times) if times else time.time()


def gather(
    raws: list[object], read_one: Callable[[dict[str, Any], Tally], Found | None], tally: Tally
) -> list[Found]:
    """Each raw conversation read by `read_one`, within the file's bounds on count and size.

    A conversation that is not an object is skipped as damaged; past
    `FOREIGN_MAX_CONVERSATIONS` or `FOREIGN_MAX_MESSAGES` the rest are skipped, counted.
    """
    found: list[Found] = []
    messages = 0
    for number, raw in enumerate(raws):
        if number >= FOREIGN_MAX_CONVERSATIONS:
            tally.conversations["too_many"] += len(raws) - number
            break
        if not isinstance(raw, dict):
            tally.conversations["damaged"] += 1
            continue
        one = read_one(raw, tally)
        if one is None:
            continue
        messages += len(one.conversation.tree)
        if messages > FOREIGN_MAX_MESSAGES:
            tally.conversations["too_many"] += len(raws) - number
            break
        found.append(one)
    return found


def fallback_model(*candidates: object) -> str:
    """The first plausible model id among `candidates`, else the page's default."""
    return next((m for m in map(model_id, candidates) if m is not None), DEFAULT_MODEL_ID)
