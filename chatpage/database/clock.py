"""The database's own clock, by which leases are written and judged.

A reply's lease (`lease_until`) is written by the process that writes the reply and read by
every other. Written from one host's clock and judged by another's, two replicas whose clocks
differ by a few seconds mark a live reply interrupted, or keep a dead one alive. Both sides
read the one clock they share instead: PostgreSQL's `clock_timestamp()`, SQLite's
`julianday('now')` (one machine anyway). Seconds since the epoch, as every time column holds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

UNIX_EPOCH_JULIAN_DAY = 2440587.5


class database_now(FunctionElement[float]):  # named as the SQL function it stands for
    """Seconds since the epoch, now, by the database's clock (not the transaction's start)."""

    type = Float()
    inherit_cache = True
    name = "database_now"


@compiles(database_now)
def _generic(_element: database_now, _compiler: Any, **_kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS DOUBLE PRECISION)"


@compiles(database_now, "postgresql")
def _postgresql(_element: database_now, _compiler: Any, **_kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(database_now, "sqlite")
def _sqlite(_element: database_now, _compiler: Any, **_kw: Any) -> str:
    return f"((julianday('now') - {UNIX_EPOCH_JULIAN_DAY}) * 86400.0)"
