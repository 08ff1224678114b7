"""The usage page's figures, from ledger rows, without a browser."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from chatpage.database.ratings import DOWN, UP, Rating
from chatpage.database.usage import Use
from chatpage.operations.usage_report import (
    errors_by_kind,
    frame,
    last_days,
    per_day,
    per_person,
    person_name,
    ratings_frame,
    ratings_per_day,
    ratings_per_model,
    to_csv,
    totals,
)

ALICE, BOB = "header:alice@example.com", "user:bob@example.com"
VISITOR = "demo:Zx81-secret-session-key"


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def use(owner: str, when: str, chars_out: int = 0, outcome: str = "complete", kind=None) -> Use:
    return Use(owner, at(when), "gpt-4", 10, chars_out, outcome, kind)


USES = [
    use(ALICE, "2026-11-24 09:00:00", 100),
    use(BOB, "2026-11-24 23:59:59", 0, "failed", "balance"),
    use(ALICE, "2026-11-26 00:00:00", 250),
    use(ALICE, "2026-11-26 08:30:00", 40, "stopped"),
    use(BOB, "2026-11-26 09:00:00", 0, "failed", "rate_limit"),
    use(VISITOR, "2026-11-26 10:00:00", 0, "failed", "balance"),
    use("local", "2026-11-26 11:00:00", 5, "streaming"),
]
PERIOD = last_days(7, at("2026-11-26 12:00:00"))


def test_the_last_seven_days_are_whole_utc_days_ending_today() -> None:
    assert (PERIOD.first_day, PERIOD.last_day) == (date(2026, 11, 20), date(2026, 11, 26))
    assert (PERIOD.since, PERIOD.until) == (at("2026-11-20 00:00:00"), at("2026-11-27 00:00:00"))
    assert len(PERIOD.days) == 7


def test_people_are_shown_by_name_and_demo_visitors_by_a_short_id_not_their_key() -> None:
    assert person_name(ALICE, "en") == "alice@example.com"
    assert person_name(BOB, "en") == "bob@example.com"
    assert person_name("local", "en") == "local user"
    assert person_name("local", "ru") == "локальный пользователь"
    shown = person_name(VISITOR, "en")
    assert shown.startswith("demo visitor ")
    assert "Zx81" not in shown
    assert "secret" not in shown
    assert shown == person_name(VISITOR, "en")  # the same visitor, the same id
    assert shown != person_name("demo:another", "en")


def test_totals_count_requests_reply_characters_failures_and_people() -> None:
    figures = totals(frame(USES, "en"))
    assert figures.requests == len(USES)
    assert figures.reply_chars == sum(u.chars_out for u in USES)
    assert figures.failures == sum(u.outcome == "failed" for u in USES)
    assert figures.people == len({u.owner for u in USES})


def test_each_day_of_the_period_has_a_row_quiet_days_as_zeros() -> None:
    table = per_day(frame(USES, "en"), PERIOD).set_index("day")
    assert list(table.index) == PERIOD.days
    assert table.loc[date(2026, 11, 25)].sum() == 0
    first = table.loc[date(2026, 11, 24)]  # 23:59:59 UTC is still that day
    assert (first["requests"], first["answered"], first["failures"]) == (2, 1, 1)
    assert (first["chars_out"], first["people"]) == (100, 2)
    today = table.loc[date(2026, 11, 26)]
    assert (today["requests"], today["failures"], today["chars_out"]) == (5, 2, 295)
    assert table["requests"].sum() == len(USES)


def test_the_busiest_person_comes_first_with_their_figures_and_last_activity() -> None:
    table = per_person(frame(USES, "en"))
    assert list(table["person"])[:2] == ["alice@example.com", "bob@example.com"]
    alice = table.iloc[0]
    assert (alice["requests"], alice["chars_in"], alice["chars_out"], alice["failures"]) == (
        3,
        30,
        390,
        0,
    )
    assert alice["last_active"].timestamp() == at("2026-11-26 08:30:00")
    bob = table.iloc[1]
    assert (bob["requests"], bob["failures"]) == (2, 2)
    assert len(table) == 4


def test_errors_are_counted_by_kind_the_commonest_first() -> None:
    table = errors_by_kind(frame(USES, "en"))
    assert list(table["kind"]) == ["balance", "rate_limit"]
    assert list(table["count"]) == [2, 1]
    assert table.iloc[0]["last"].timestamp() == at("2026-11-26 10:00:00")


def test_the_csv_has_one_row_per_request_in_utc_and_no_keys() -> None:
    text = to_csv(frame(USES, "en"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(USES)
    assert rows[1] == {
        "started_utc": "2026-11-24 23:59:59",
        "person": "bob@example.com",
        "model": "gpt-4",
        "chars_in": "10",
        "chars_out": "0",
        "outcome": "failed",
        "error_kind": "balance",
        "rating": "",
    }
    assert rows[0]["error_kind"] == ""
    assert "secret" not in text


def test_an_empty_period_gives_zeros_and_empty_tables() -> None:
    rows = frame([], "en")
    assert totals(rows) == totals(frame([], "ru"))
    assert totals(rows).requests == 0
    assert per_day(rows, PERIOD)["requests"].sum() == 0
    assert len(per_day(rows, PERIOD)) == 7
    assert per_person(rows).empty
    assert errors_by_kind(rows).empty
    assert to_csv(rows).strip() == ",".join(
        [
            "started_utc",
            "person",
            "model",
            "chars_in",
            "chars_out",
            "outcome",
            "error_kind",
            "rating",
        ]
    )


RATINGS = [
    Rating(ALICE, "gpt-4", UP, at("2026-11-24 10:00:00")),
    Rating(BOB, "gpt-4", DOWN, at("2026-11-26 09:30:00")),
    Rating(ALICE, "claude-3", UP, at("2026-11-26 10:30:00")),
    Rating(VISITOR, "gpt-4", UP, at("2026-11-26 11:30:00")),
]


def test_ratings_are_counted_up_and_down_per_model_the_most_rated_first() -> None:
    table = ratings_per_model(ratings_frame(RATINGS, "en"))
    assert table[["model", "up", "down"]].values.tolist() == [["gpt-4", 2, 1], ["claude-3", 1, 0]]
    assert table["share_up"].round(3).tolist() == [0.667, 1.0]


def test_ratings_per_day_cover_every_day_of_the_period() -> None:
    table = ratings_per_day(ratings_frame(RATINGS, "en"), PERIOD)
    assert len(table) == 7
    by_day = {row.day: (row.up, row.down) for row in table.itertuples()}
    assert by_day[date(2026, 11, 24)] == (1, 0)
    assert by_day[date(2026, 11, 25)] == (0, 0)
    assert by_day[date(2026, 11, 26)] == (2, 1)


def test_the_csv_carries_each_rating_as_a_row_in_time_order_without_keys() -> None:
    text = to_csv(frame(USES, "en"), ratings_frame(RATINGS, "en"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(USES) + len(RATINGS)
    rated = [row for row in rows if row["outcome"] == "rated"]
    assert rated[1] == {
        "started_utc": "2026-11-26 09:30:00",
        "person": "bob@example.com",
        "model": "gpt-4",
        "chars_in": "",
        "chars_out": "",
        "outcome": "rated",
        "error_kind": "",
        "rating": "down",
    }
    assert [row["started_utc"] for row in rows] == sorted(row["started_utc"] for row in rows)
    assert rows[0]["chars_in"] == "10"  # requests keep whole numbers beside the empty cells
    assert "secret" not in text


def test_an_empty_period_has_no_ratings() -> None:
    rated = ratings_frame([], "en")
    assert ratings_per_model(rated).empty
    assert ratings_per_day(rated, PERIOD)["up"].sum() == 0
