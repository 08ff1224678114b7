"""What each person spends of the service: one row per request sent upstream, and its limits.

A team page spends one Liaobots balance for everybody, so its operator caps each person
(`CHAT_USER_PER_DAY`, `CHAT_USER_CHARS_PER_MONTH` …) and reads who used what on the usage
page. A row says who, when, which model, how many characters went up and came back and how
the reply ended; never the text. Limits count these rows in the database, so they hold across
tabs and app processes; periods are calendar days and months in UTC.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    func,
    insert,
    select,
    update,
)

from chatpage.data.conversation import ErrorInfo
from chatpage.database.schema import reply_usage

Measure = Literal["requests", "chars"]
Period = Literal["day", "month"]


@dataclass(frozen=True)
class Allowance:
    """One limit on one person: so many requests, or reply characters, a day or a month."""

    measure: Measure
    period: Period
    allowed: int

    def window(self, now: float) -> tuple[float, float]:
        """When the period holding `now` began, and when the next one begins (UTC)."""
        moment = datetime.fromtimestamp(now, UTC)
        if self.period == "day":
            start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
            following = datetime.fromtimestamp(start.timestamp() + 86_400, UTC)
        else:
            start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            following = start.replace(
                year=start.year + start.month // 12, month=start.month % 12 + 1
            )
        return start.timestamp(), following.timestamp()

    def refusal(self, now: float) -> ErrorInfo:
        """What the page says when this limit is reached: which, and when it resets."""
        _, resets = self.window(now)
        return ErrorInfo(
            f"limit_{self.measure}_{self.period}", limit=self.allowed, retry_after=resets - now
        )


@dataclass(frozen=True)
class Use:
    """One request as the usage page reads it."""

    owner: str
    started_at: float
    model_id: str | None
    chars_in: int
    chars_out: int
    outcome: str
    error_kind: str | None


class Ledger:
    """Reads and writes of the usage rows, on the store's database."""

    def __init__(self, engine: Engine, writes: Engine) -> None:
        self._engine = engine
        self._writes = writes  # the same engine, taking SQLite's write lock up front

    def over(self, owner: str, allowances: Sequence[Allowance], now: float) -> ErrorInfo | None:
        """The first limit `owner` has reached, or None: a check before anything is stored."""
        if not allowances:
            return None
        with self._engine.connect() as db:
            return _first_reached(db, owner, allowances, now)

    def begin(
        self,
        owner: str,
        model_id: str,
        chars_in: int,
        allowances: Sequence[Allowance],
        now: float,
    ) -> str | ErrorInfo:
        """Record a request about to go upstream and return its id, or the limit it reached.

        The count and the record are one transaction (under a per-person lock on PostgreSQL,
        SQLite's write lock otherwise), so two tabs or two processes cannot both slip past.
        """
        usage_id = secrets.token_hex(16)
        with self._writes.begin() as db:
            if allowances and db.dialect.name == "postgresql":
                db.execute(select(func.pg_advisory_xact_lock(func.hashtext("usage:" + owner))))
            reached = _first_reached(db, owner, allowances, now) if allowances else None
            if reached is not None:
                return reached
            db.execute(
                insert(reply_usage).values(
                    id=usage_id,
                    owner=owner,
                    started_at=now,
                    model_id=model_id,
                    chars_in=chars_in,
                    chars_out=0,
                    outcome="streaming",
                )
            )
        return usage_id

    def end(
        self, usage_id: str, *, chars_out: int, outcome: str, error_kind: str | None, now: float
    ) -> None:
        """Say how a request ended and how much text it brought back."""
        with self._writes.begin() as db:
            db.execute(
                update(reply_usage)
                .where(reply_usage.c.id == usage_id)
                .values(
                    finished_at=now, chars_out=chars_out, outcome=outcome, error_kind=error_kind
                )
            )

    def forget(self, usage_id: str) -> None:
        """Drop the record of a request that was not sent after all."""
        with self._writes.begin() as db:
            db.execute(delete(reply_usage).where(reply_usage.c.id == usage_id))

    def used(self, owner: str, since: float) -> tuple[int, int]:
        """Requests made and reply characters received by `owner` since a moment."""
        with self._engine.connect() as db:
            row = db.execute(
                select(func.count(), func.coalesce(func.sum(reply_usage.c.chars_out), 0)).where(
                    reply_usage.c.owner == owner, reply_usage.c.started_at >= since
                )
            ).one()
        return int(row[0]), int(row[1])

    def between(self, since: float, until: float) -> list[Use]:
        """Every request of everyone in a span of time, oldest first (the usage page's)."""
        with self._engine.connect() as db:
            rows = db.execute(
                select(
                    reply_usage.c.owner,
                    reply_usage.c.started_at,
                    reply_usage.c.model_id,
                    reply_usage.c.chars_in,
                    reply_usage.c.chars_out,
                    reply_usage.c.outcome,
                    reply_usage.c.error_kind,
                )
                .where(reply_usage.c.started_at >= since, reply_usage.c.started_at < until)
                .order_by(reply_usage.c.started_at)
            ).all()
        return [Use(*row) for row in rows]


def _first_reached(
    db: Connection, owner: str, allowances: Sequence[Allowance], now: float
) -> ErrorInfo | None:
    for allowance in allowances:
        since, _ = allowance.window(now)
        measured = (
            func.count()
            if allowance.measure == "requests"
            else func.coalesce(func.sum(reply_usage.c.chars_out), 0)
        )
        spent = db.execute(
            select(measured).where(reply_usage.c.owner == owner, reply_usage.c.started_at >= since)
        ).scalar_one()
        if int(spent) >= allowance.allowed:
            return allowance.refusal(now)
    return None
