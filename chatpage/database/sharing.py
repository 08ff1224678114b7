"""Read-only links to a conversation: a snapshot anyone of this deployment may open.

A link is an unguessable token (`?share=<token>`) naming a snapshot taken when it was made:
the branch on show, as the export JSON. The live conversation is never read through a
link, so what its person writes, edits or deletes afterwards never shows there, and other
versions of their messages (edits they moved away from) are never shared. Only the owner
can revoke a link; a revoked or unknown token reads the same, as nothing.

A link shares what its view shows: attached files by name and size, their text only when the
person sharing chose to include it (the view shows none of it, but "Continue in my own chat"
hands it on); the sharer's name only when they chose to show it.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace

from sqlalchemy import (
    Engine,
    bindparam,
    insert,
    select,
    update,
)

from chatpage.access.limits import TITLE_MAX_CHARS
from chatpage.data.conversation import Attachment, Conversation
from chatpage.data.export import ImportRefused, from_json, to_json
from chatpage.database.schema import shared_links

log = logging.getLogger(__name__)

URL_KEY = "share"
TOKEN_BYTES = 24  # 192 bits: 32 URL-safe characters, not to be guessed or enumerated


@dataclass(frozen=True)
class Link:
    """One active link, as its owner sees it in the sidebar."""

    token: str
    conversation_id: str
    title: str
    created_at: float


@dataclass(frozen=True)
class Shared:
    """What a link shows: the snapshot, who shared it and when."""

    conversation: Conversation
    shared_by: str | None
    created_at: float


@dataclass(frozen=True)
class Sharer:
    """Who may share from this page, and where its links point (None: sharing is off)."""

    name: str | None  # shown on the shared view; None for the one local user
    base_url: str  # the page's address, or "" for a link relative to it

    def link(self, token: str) -> str:
        return f"{self.base_url}?{URL_KEY}={token}"


def sharer(public_demo: bool, name: str | None, page_url: str | None) -> Sharer | None:
    """Sharing is off in a public demo: its visitors are anonymous and their chats expire."""
    if public_demo:
        return None
    if not isinstance(page_url, str) or not page_url:
        return Sharer(name, "")  # no address known (AppTest): a link relative to the page
    base = page_url.split("?")[0].split("#")[0]
    return Sharer(name, base if base.endswith("/") else base + "/")  # `st.context.url` has none


def snapshot(conversation: Conversation, include_files: bool = False) -> Conversation:
    """The branch on show alone, as a conversation of its own (the other versions left out);
    attached files by name and size only, unless `include_files`."""
    branch = Conversation(
        model_id=conversation.model_id,
        system_prompt=conversation.system_prompt,
        title=conversation.display_title,
        id=conversation.id,
        created_at=conversation.created_at,
    )
    for message in conversation.messages:
        if message.attachments and not include_files:
            message = replace(message, attachments=without_text(message.attachments))
        branch.tree[message.id] = message
    branch.leaf_id = conversation.leaf_id if branch.tree else None
    return branch


def without_text(attachments: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
    """The files as their chips show them: name and size, no text."""
    return tuple(Attachment(name=a.name, size=a.size, text="") for a in attachments)


def plausible_token(value: str) -> bool:
    return 20 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)


class Shares:
    """Reads and writes of shared links, on the store's database."""

    def __init__(self, engine: Engine, writes: Engine) -> None:
        self._engine = engine
        self._writes = writes  # the same engine, taking SQLite's write lock up front

    def share(
        self,
        conversation: Conversation,
        owner: str,
        shared_by: str | None,
        now: float,
        *,
        include_files: bool = False,
    ) -> str:
        """A link to the conversation as it is now: the active one if there is one, else new.

        The caller passes the conversation as stored for `owner` (read by its owner), so
        nobody can share what is not theirs; and `shared_by` only when its person chose to
        show their name. Files go with their text only when `include_files`.
        """
        with self._writes.begin() as db:
            existing = db.execute(
                select(shared_links.c.token).where(
                    shared_links.c.owner == owner,
                    shared_links.c.conversation_id == conversation.id,
                    shared_links.c.revoked_at.is_(None),
                )
            ).first()
            if existing is not None:
                return str(existing[0])
            token = secrets.token_urlsafe(TOKEN_BYTES)
            db.execute(
                insert(shared_links).values(
                    token=token,
                    owner=owner,
                    shared_by=shared_by,
                    conversation_id=conversation.id,
                    title=conversation.display_title[:TITLE_MAX_CHARS],
                    snapshot=to_json(snapshot(conversation, include_files)),
                    created_at=now,
                )
            )
        return token

    def active(self, conversation_id: str, owner: str) -> str | None:
        """The token of the conversation's active link, if its owner shared it."""
        with self._engine.connect() as db:
            row = db.execute(
                select(shared_links.c.token).where(
                    shared_links.c.owner == owner,
                    shared_links.c.conversation_id == conversation_id,
                    shared_links.c.revoked_at.is_(None),
                )
            ).first()
        return str(row[0]) if row is not None else None

    def links(self, owner: str) -> list[Link]:
        """The person's active links, newest first."""
        with self._engine.connect() as db:
            rows = db.execute(_ACTIVE_LINKS, {"of_owner": owner}).all()
        return [Link(*row) for row in rows]

    def open(self, token: str) -> Shared | None:
        """What an active link shows; None for a revoked, unknown or implausible token."""
        if not plausible_token(token):
            return None
        with self._engine.connect() as db:
            row = db.execute(
                select(
                    shared_links.c.snapshot,
                    shared_links.c.shared_by,
                    shared_links.c.created_at,
                ).where(shared_links.c.token == token, shared_links.c.revoked_at.is_(None))
            ).first()
        if row is None:
            return None
        data, shared_by, created_at = row
        try:
            conversation = from_json(data.encode(), max_bytes=len(data.encode()))
        except ImportRefused:
            log.warning("a shared snapshot could not be read")  # never the token
            return None
        return Shared(conversation, shared_by, created_at)

    def revoke(self, conversation_id: str, owner: str, now: float) -> bool:
        """Stop sharing a conversation: its links say "not found" from now on.

        Only its owner's links are touched; False when there was none to stop.
        """
        with self._writes.begin() as db:
            done = db.execute(
                update(shared_links)
                .where(
                    shared_links.c.owner == owner,
                    shared_links.c.conversation_id == conversation_id,
                    shared_links.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        return done.rowcount > 0


# Read on every page load (the list's shared links): built once, as building a statement
# costs about as much as running it on SQLite.
_ACTIVE_LINKS = (
    select(
        shared_links.c.token,
        shared_links.c.conversation_id,
        shared_links.c.title,
        shared_links.c.created_at,
    )
    .where(shared_links.c.owner == bindparam("of_owner"), shared_links.c.revoked_at.is_(None))
    .order_by(shared_links.c.created_at.desc())
)
