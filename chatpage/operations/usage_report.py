"""The usage page's figures: the ledger's rows of a period, summed per day, person and error;
and the ratings of replies given in it, per model and per day.

Pure functions over `Use` rows (no Streamlit), so every figure the page shows is tested
without a browser. Days are calendar days in UTC, like the limits in `usage.py`. People are
shown by name: the sign-in's e-mail address or the proxy's header value, "local user", and a
public demo's anonymous visitors as "demo visitor" with a short id made from their key (a
hash, so the key itself is never shown).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from chatpage.access.identity import DEMO_PREFIX, LOCAL_OWNER
from chatpage.database.ratings import UP, Rating
from chatpage.database.usage import Use
from chatpage.i18n import t

DAY = 86_400
PERIODS = (7, 30, 90)  # the days the page offers
NAMED_PREFIXES = ("header:", "user:")
COLUMNS = (
    "started",
    "day",
    "owner",
    "person",
    "model",
    "chars_in",
    "chars_out",
    "outcome",
    "error_kind",
    "failed",
)
CSV_COLUMNS = (
    "started_utc",
    "person",
    "model",
    "chars_in",
    "chars_out",
    "outcome",
    "error_kind",
    "rating",
)
RATING_COLUMNS = ("rated", "day", "person", "model", "up")
RATED = "rated"  # the CSV's outcome of a rating's row


@dataclass(frozen=True)
class Period:
    """The whole UTC days up to and including today: what "the last N days" means here."""

    first_day: date
    last_day: date

    @property
    def since(self) -> float:
        return _midnight(self.first_day)

    @property
    def until(self) -> float:
        return _midnight(self.last_day) + DAY

    @property
    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=n) for n in range(count)]


@dataclass(frozen=True)
class Totals:
    requests: int
    reply_chars: int
    failures: int
    people: int


def last_days(days: int, now: float) -> Period:
    """The last `days` UTC days, today included."""
    today = datetime.fromtimestamp(now, UTC).date()
    return Period(today - timedelta(days=days - 1), today)


def person_name(owner: str, lang: str) -> str:
    """Who an owner key is, as an admin reads it."""
    for prefix in NAMED_PREFIXES:
        if owner.startswith(prefix):
            return owner.removeprefix(prefix)
    if owner == LOCAL_OWNER:
        return t(lang, "usage_local_user")
    if owner.startswith(DEMO_PREFIX):
        short = hashlib.sha256(owner.encode()).hexdigest()[:6]
        return t(lang, "usage_demo_visitor", id=short)
    return owner


def frame(uses: Sequence[Use], lang: str) -> pd.DataFrame:
    """One row per request, with its UTC time and day and the person's name."""
    if not uses:
        return pd.DataFrame({name: pd.Series(dtype=_dtype(name)) for name in COLUMNS})
    rows = pd.DataFrame([u.__dict__ for u in uses])
    started = pd.to_datetime(rows["started_at"], unit="s", utc=True)
    return pd.DataFrame(
        {
            "started": started,
            "day": started.dt.date,
            "owner": rows["owner"],
            "person": [person_name(owner, lang) for owner in rows["owner"]],
            "model": rows["model_id"],
            "chars_in": rows["chars_in"].astype("int64"),
            "chars_out": rows["chars_out"].astype("int64"),
            "outcome": rows["outcome"],
            "error_kind": rows["error_kind"],
            "failed": rows["outcome"] == "failed",
        }
    )


def totals(rows: pd.DataFrame) -> Totals:
    return Totals(
        requests=len(rows),
        reply_chars=int(rows["chars_out"].sum()),
        failures=int(rows["failed"].sum()),
        people=int(rows["owner"].nunique()),
    )


def per_day(rows: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Every day of the period (quiet days too, as zeros): requests, answered and failed,
    characters in and out, and how many people asked."""
    grouped = rows.groupby("day")
    table = pd.DataFrame(
        {
            "requests": grouped.size(),
            "failures": grouped["failed"].sum(),
            "chars_in": grouped["chars_in"].sum(),
            "chars_out": grouped["chars_out"].sum(),
            "people": grouped["owner"].nunique(),
        }
    )
    table = table.reindex(period.days, fill_value=0).astype("int64")
    table.insert(1, "answered", table["requests"] - table["failures"])
    table.index.name = "day"
    return table.reset_index()


def per_person(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per person, the busiest first: requests, characters, failures, last active."""
    grouped = rows.groupby("owner")
    table = pd.DataFrame(
        {
            "person": grouped["person"].first(),
            "requests": grouped.size(),
            "chars_in": grouped["chars_in"].sum(),
            "chars_out": grouped["chars_out"].sum(),
            "failures": grouped["failed"].sum().astype("int64"),
            "last_active": grouped["started"].max(),
        }
    )
    table = table.sort_values(["requests", "person"], ascending=[False, True])
    return table.reset_index(drop=True)


def errors_by_kind(rows: pd.DataFrame) -> pd.DataFrame:
    """Failed requests by what went wrong, the commonest first, with when it last happened."""
    failed = rows[rows["failed"]].assign(kind=lambda f: f["error_kind"].fillna("unknown"))
    grouped = failed.groupby("kind")
    table = pd.DataFrame({"count": grouped.size(), "last": grouped["started"].max()})
    table = table.sort_values(["count"], ascending=False, kind="stable")
    return table.reset_index()


def ratings_frame(ratings: Sequence[Rating], lang: str) -> pd.DataFrame:
    """One row per rating: its UTC time and day, the person's name, the model, up or not."""
    if not ratings:
        return pd.DataFrame(
            {
                "rated": pd.Series(dtype="datetime64[ns, UTC]"),
                **{name: pd.Series(dtype="object") for name in ("day", "person", "model")},
                "up": pd.Series(dtype="bool"),
            }
        )
    rated = pd.to_datetime(pd.Series([r.rated_at for r in ratings]), unit="s", utc=True)
    return pd.DataFrame(
        {
            "rated": rated,
            "day": rated.dt.date,
            "person": [person_name(r.owner, lang) for r in ratings],
            "model": [r.model_id or "?" for r in ratings],
            "up": [r.rating == UP for r in ratings],
        }
    )


def ratings_per_model(rated: pd.DataFrame) -> pd.DataFrame:
    """Per model, the most rated first: up and down counts and the share of ups."""
    grouped = rated.groupby("model")
    table = pd.DataFrame(
        {"up": grouped["up"].sum(), "down": (~rated["up"]).groupby(rated["model"]).sum()}
    )
    table = table.astype("int64")
    table["share_up"] = table["up"] / (table["up"] + table["down"])
    table = table.assign(total=table["up"] + table["down"]).reset_index()
    table = table.sort_values(["total", "model"], ascending=[False, True]).drop(columns="total")
    return table.reset_index(drop=True)


def ratings_per_day(rated: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Every day of the period (quiet days as zeros): how many replies were rated up, down."""
    table = pd.DataFrame(
        {
            "up": rated.groupby("day")["up"].sum(),
            "down": (~rated["up"]).groupby(rated["day"]).sum(),
        }
    )
    table = table.reindex(period.days, fill_value=0).astype("int64")
    table.index.name = "day"
    return table.reset_index()


def to_csv(rows: pd.DataFrame, rated: pd.DataFrame | None = None) -> str:
    """The period's rows for a spreadsheet: who, when (UTC), model, sizes, how it ended; then
    each rating given in it as a row of its own (outcome "rated", rating "up" or "down"), all
    in time order. Never text."""
    requests = pd.DataFrame(
        {
            "at": rows["started"],
            "person": rows["person"],
            "model": rows["model"],
            "chars_in": rows["chars_in"].astype("Int64"),
            "chars_out": rows["chars_out"].astype("Int64"),
            "outcome": rows["outcome"],
            "error_kind": rows["error_kind"],
            "rating": pd.Series([None] * len(rows), index=rows.index, dtype="object"),
        }
    )
    parts = [requests]
    if rated is not None and not rated.empty:
        count = len(rated)
        parts.append(
            pd.DataFrame(
                {
                    "at": rated["rated"],
                    "person": rated["person"],
                    "model": rated["model"],
                    "chars_in": pd.array([None] * count, dtype="Int64"),
                    "chars_out": pd.array([None] * count, dtype="Int64"),
                    "outcome": [RATED] * count,
                    "error_kind": [None] * count,
                    "rating": ["up" if up else "down" for up in rated["up"]],
                }
            )
        )
    both = pd.concat(parts, ignore_index=True) if len(parts) > 1 else requests
    both = both.sort_values("at", kind="stable")
    out = both.assign(started_utc=both["at"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    return out[list(CSV_COLUMNS)].to_csv(index=False, lineterminator="\n")


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _dtype(column: str) -> str:
    if column == "started":
        return "datetime64[ns, UTC]"
    if column in ("chars_in", "chars_out"):
        return "int64"
    if column == "failed":
        return "bool"
    return "object"
