"""Thumbs up or down on a reply: a person's own, kept with the message, summed for operators.

A rating says which reply (by id), whose, which model wrote it, up or down, and when; never
any text, so nothing of the conversation leaves it for this. One rating per reply: rating it
again replaces it, and clearing it deletes it. The owner is checked here, in the same
transaction as the write: a reply that is not the person's, or not finished, is refused
whatever the page sent. Deleting a conversation deletes its ratings (the foreign key).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from chatpage.access.refusal import Refused
from chatpage.data.conversation import ErrorInfo, Status
from chatpage.database.schema import conversations, messages, reply_ratings

UP, DOWN = 1, -1
# How a reply may have ended and still be rated: finished, or stopped or cut with its text.
RATEABLE = (Status.COMPLETE, Status.STOPPED, Status.INTERRUPTED)
MAX_ASKED = 1000  # message ids one read asks about, at most


class RatingRefused(Refused):
    """A reply that cannot be rated by this person: not theirs, not a reply, not finished."""

    KIND = "rating_refused"

    def __init__(self) -> None:
        super().__init__(ErrorInfo(self.KIND))


@dataclass(frozen=True)
class Rating:
    """One rating as the usage page reads it."""

    owner: str
    model_id: str | None
    rating: int  # UP or DOWN
    rated_at: float


class Ratings:
    """Reads and writes of ratings, on the store's database."""

    def __init__(self, engine: Engine, writes: Engine) -> None:
        self._engine = engine
        self._writes = writes

    def rate(self, owner: str, message_id: str, up: bool | None, now: float | None = None) -> None:
        """Rate a reply up (True) or down (False), or clear its rating (None).

        Raises RatingRefused when the message is not a finished reply of `owner`'s.
        """
        with self._writes.begin() as db:
            model_id = _rateable_reply(db, owner, message_id)
            if up is None:
                db.execute(delete(reply_ratings).where(reply_ratings.c.message_id == message_id))
                return
            values = {
                "message_id": message_id,
                "owner": owner,
                "model_id": model_id,
                "rating": UP if up else DOWN,
                "rated_at": time.time() if now is None else now,
            }
            dialect = postgresql if db.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(reply_ratings).values(**values)
            db.execute(
                statement.on_conflict_do_update(
                    index_elements=[reply_ratings.c.message_id],
                    set_={k: statement.excluded[k] for k in ("rating", "rated_at", "model_id")},
                )
            )

    def of_messages(self, owner: str, message_ids: Sequence[str]) -> dict[str, int]:
        """The person's ratings of these messages (UP or DOWN), by message id."""
        asked = list(message_ids)[-MAX_ASKED:]
        if not asked:
            return {}
        with self._engine.connect() as db:
            rows = db.execute(
                select(reply_ratings.c.message_id, reply_ratings.c.rating).where(
                    reply_ratings.c.owner == owner, reply_ratings.c.message_id.in_(asked)
                )
            ).all()
        return {message_id: int(rating) for message_id, rating in rows}

    def between(self, since: float, until: float) -> list[Rating]:
        """Every rating given in a span of time, oldest first (the usage page's)."""
        with self._engine.connect() as db:
            rows = db.execute(
                select(
                    reply_ratings.c.owner,
                    reply_ratings.c.model_id,
                    reply_ratings.c.rating,
                    reply_ratings.c.rated_at,
                )
                .where(reply_ratings.c.rated_at >= since, reply_ratings.c.rated_at < until)
                .order_by(reply_ratings.c.rated_at)
            ).all()
        return [Rating(*row) for row in rows]


def _rateable_reply(db: Connection, owner: str, message_id: str) -> str | None:
    """The model of `owner`'s finished reply `message_id`; raises RatingRefused otherwise."""
    row = db.execute(
        select(messages.c.role, messages.c.status, messages.c.model_id)
        .join(conversations, conversations.c.id == messages.c.conversation_id)
        .where(messages.c.id == message_id, conversations.c.owner == owner)
    ).first()
    if row is None or row.role != "assistant" or row.status not in RATEABLE:
        raise RatingRefused()
    return row.model_id
