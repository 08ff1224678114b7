"""What a public-demo visitor used lately: messages per minute and day, imports per day.

Both are counted on the database, so every process of the demo holds a visitor to the same
bounds. Imported conversations are stored like any other until the demo forgets them, so
without a bound one visitor could fill the database with files of the largest size allowed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, insert, select

from chatpage.database.schema import demo_imports, demo_usage

DAY = 86_400.0


class DemoUse:
    """The messages of public-demo visitors, in the windows of the demo's rate limits."""

    def __init__(self, writes: Engine) -> None:
        self._writes = writes  # the store's engine, taking SQLite's write lock up front

    def take(self, visitor: str, now: float, limits: Sequence[tuple[float, int]]) -> float | None:
        """Count one request against `(window_seconds, allowed)` limits, if all allow it.

        Returns None when the request may go (and records it), else the seconds until it
        may. The check and the record are one transaction, so two tabs cannot both slip in.
        """
        with self._writes.begin() as db:
            if db.dialect.name == "postgresql":
                db.execute(select(func.pg_advisory_xact_lock(func.hashtext(visitor))))
            for window, allowed in limits:
                recent = db.execute(
                    select(demo_usage.c.at)
                    .where(demo_usage.c.visitor == visitor, demo_usage.c.at > now - window)
                    .order_by(demo_usage.c.at.desc())
                    .limit(allowed)
                ).all()
                if len(recent) >= allowed:
                    return max(1.0, recent[-1].at + window - now)
            db.execute(insert(demo_usage).values(visitor=visitor, at=now))
            return None

    def forget_before(self, cutoff: float) -> None:
        with self._writes.begin() as db:
            db.execute(delete(demo_usage).where(demo_usage.c.at < cutoff))


@dataclass(frozen=True)
class OverImports:
    """Why an import is refused: the day's count or bytes, and the limit passed."""

    key: str  # "import_demo_count" or "import_demo_bytes" (i18n keys)
    limit: int


# Counts an import of so many bytes, or says why it is refused (None: within the bounds).
ImportBound = Callable[[int], OverImports | None]


class DemoImports:
    """The imports of public-demo visitors in the last day, on the store's database."""

    def __init__(self, engine: Engine, writes: Engine) -> None:
        self._engine = engine
        self._writes = writes  # the same engine, taking SQLite's write lock up front

    def take(
        self, visitor: str, size: int, now: float, *, per_day: int, bytes_per_day: int
    ) -> OverImports | None:
        """Count an import of `size` bytes if the day's bounds allow it; else why not.

        The check and the record are one transaction, so two tabs cannot both slip in.
        """
        with self._writes.begin() as db:
            if db.dialect.name == "postgresql":
                key = "import:" + visitor
                db.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
            count, total = db.execute(
                select(func.count(), func.coalesce(func.sum(demo_imports.c.bytes), 0)).where(
                    demo_imports.c.visitor == visitor, demo_imports.c.at > now - DAY
                )
            ).one()
            if count >= per_day:
                return OverImports("import_demo_count", per_day)
            if total + size > bytes_per_day:
                return OverImports("import_demo_bytes", bytes_per_day)
            db.execute(insert(demo_imports).values(visitor=visitor, at=now, bytes=size))
        return None

    def bound(self, visitor: str, per_day: int, bytes_per_day: int) -> ImportBound:
        """The check one visitor's imports go through."""

        def check(size: int) -> OverImports | None:
            return self.take(
                visitor, size, time.time(), per_day=per_day, bytes_per_day=bytes_per_day
            )

        return check

    def forget_before(self, cutoff: float) -> None:
        with self._writes.begin() as db:
            db.execute(delete(demo_imports).where(demo_imports.c.at < cutoff))
