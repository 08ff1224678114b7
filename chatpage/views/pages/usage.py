"""The usage page, for CHAT_ADMINS: who used the service, how much, what failed, and how
people rated the replies, by model and by day.

`app.py` adds this page to the navigation only for an admin, so nobody else is shown it or
reaches it by its URL (`/usage` runs the chat for them); `show` refuses anyone else again, in
case a page is ever registered by mistake. The entry point hands over what it found (settings,
visitor, store, language) through `hand_over`, since a page file runs in a namespace of its
own. The figures come from `usage_report.py`; this module only draws them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from chatpage.access import balance
from chatpage.access.identity import Visitor
from chatpage.backend import Backend, ServiceInfo, chosen_backend, fresh_balance
from chatpage.data.failures import describe, explain, kind_name
from chatpage.database.conversations import ConversationStore
from chatpage.i18n import t
from chatpage.operations.usage_report import (
    PERIODS,
    Period,
    errors_by_kind,
    frame,
    last_days,
    per_day,
    per_person,
    ratings_frame,
    ratings_per_day,
    ratings_per_model,
    to_csv,
    totals,
)
from chatpage.settings import Settings
from chatpage.views import guard

_VISIT = "usage_page_visit"
PERIOD_KEY = "usage_days"
ANSWERED_COLOR, FAILED_COLOR = "#2f6fde", "#d64545"
UP_COLOR, DOWN_COLOR = "#2e9e5b", "#d64545"


@dataclass(frozen=True)
class Visit:
    """What the entry point found on this run, for the page it runs."""

    settings: Settings
    visitor: Visitor
    store: ConversationStore
    lang: str


def hand_over(visit: Visit) -> None:
    """Called by the entry point on every run, before the page runs."""
    st.session_state[_VISIT] = visit


def show() -> None:
    """The page: the balance, a period, its totals, per day, per person, errors, CSV."""
    visit: Visit | None = st.session_state.get(_VISIT)
    if visit is None or not visit.visitor.admin:
        st.stop()  # never drawn for anyone else
    lang = visit.lang
    backend = chosen_backend(visit.settings)
    info = fresh_balance(backend)  # the balance now, not as the session began
    balance.warn_admins(visit.settings, visit.visitor, info, lang)
    st.title(t(lang, "usage_title"))
    st.caption(t(lang, "usage_intro"))
    with guard.region("usage", lang):
        days = st.radio(
            t(lang, "usage_period"),
            PERIODS,
            index=0,
            format_func=lambda n: t(lang, "usage_last_days", days=n),
            horizontal=True,
            key=PERIOD_KEY,
        )
        period = last_days(int(days), time.time())
        _report(visit.store, period, backend, info, lang)


def _report(
    store: ConversationStore, period: Period, backend: Backend, info: ServiceInfo, lang: str
) -> None:
    try:
        uses = store.usage.between(period.since, period.until)
        ratings = store.ratings.between(period.since, period.until)
    except SQLAlchemyError:
        st.error(t(lang, "usage_unavailable"), icon=":material/database:")
        return
    rows = frame(uses, lang)
    rated = ratings_frame(ratings, lang)
    st.caption(
        t(
            lang,
            "usage_period_note",
            first=period.first_day,
            last=period.last_day,
        )
    )
    figures = totals(rows)
    columns = st.columns(5)
    columns[0].metric(t(lang, "usage_requests"), f"{figures.requests:,}")
    columns[1].metric(t(lang, "usage_reply_chars"), f"{figures.reply_chars:,}")
    columns[2].metric(t(lang, "usage_failures"), f"{figures.failures:,}")
    columns[3].metric(t(lang, "usage_people"), f"{figures.people:,}")
    _balance(columns[4], backend, info, lang)
    if rows.empty:
        st.info(t(lang, "usage_nothing"), icon=":material/query_stats:")
    _days(rows, period, lang)
    if not rows.empty:
        _people(rows, lang)
        _errors(rows, lang)
    _ratings(rated, period, lang)
    st.download_button(
        t(lang, "usage_csv"),
        data=lambda: to_csv(rows, rated),
        on_click="ignore",
        file_name=f"usage-{period.first_day}-{period.last_day}.csv",
        mime="text/csv",
        icon=":material/download:",
        help=t(lang, "usage_csv_help"),
        key="usage_csv",
    )


def _balance(
    place: st.delta_generator.DeltaGenerator, backend: Backend, info: ServiceInfo, lang: str
) -> None:
    """The balance as the sidebar shows it, asked afresh."""
    label = t(lang, "usage_balance")
    if backend.demo:
        place.metric(label, "—", help=t(lang, "usage_balance_demo"))
    elif not backend.auth_code:
        place.metric(label, "—", help=t(lang, "usage_balance_no_code"))
    elif info.account_error is not None:
        _, words = explain(describe(info.account_error), lang)
        place.metric(label, "—", help=t(lang, "usage_balance_failed", error=words))
    elif info.balance is None:
        place.metric(label, t(lang, "usage_balance_unknown"))
    else:
        place.metric(label, f"{info.balance:,.2f}")


def _days(rows: pd.DataFrame, period: Period, lang: str) -> None:
    st.subheader(t(lang, "usage_per_day"))
    daily = per_day(rows, period)
    day = t(lang, "usage_day")
    answered, failed = t(lang, "usage_answered"), t(lang, "usage_failures")
    chart = pd.DataFrame(
        {
            day: pd.to_datetime(daily["day"]),
            answered: daily["answered"],
            failed: daily["failures"],
            t(lang, "usage_reply_chars"): daily["chars_out"],
        }
    )
    requests_tab, chars_tab = st.tabs([t(lang, "usage_requests"), t(lang, "usage_reply_chars")])
    with requests_tab:
        st.bar_chart(
            chart,
            x=day,
            y=[answered, failed],
            color=[ANSWERED_COLOR, FAILED_COLOR],
            y_label=t(lang, "usage_requests"),
            height=260,
        )
    with chars_tab:
        st.bar_chart(chart, x=day, y=t(lang, "usage_reply_chars"), height=260)


def _people(rows: pd.DataFrame, lang: str) -> None:
    st.subheader(t(lang, "usage_per_person"))
    table = per_person(rows)
    table["last_active"] = table["last_active"].dt.strftime("%Y-%m-%d %H:%M")
    st.dataframe(
        table.rename(
            columns={
                "person": t(lang, "usage_person"),
                "requests": t(lang, "usage_requests"),
                "chars_in": t(lang, "usage_chars_in"),
                "chars_out": t(lang, "usage_chars_out"),
                "failures": t(lang, "usage_failures"),
                "last_active": t(lang, "usage_last_active"),
            }
        ),
        hide_index=True,
        width="stretch",
    )


def _errors(rows: pd.DataFrame, lang: str) -> None:
    st.subheader(t(lang, "usage_errors"))
    table = errors_by_kind(rows)
    if table.empty:
        st.caption(t(lang, "usage_no_errors"))
        return
    what, count = t(lang, "usage_what"), t(lang, "usage_count")
    shown = pd.DataFrame(
        {
            what: [kind_name(kind, lang) for kind in table["kind"]],
            t(lang, "usage_kind"): table["kind"],
            count: table["count"],
            t(lang, "usage_last_seen"): table["last"].dt.strftime("%Y-%m-%d %H:%M"),
        }
    )
    st.bar_chart(shown, x=what, y=count, horizontal=True, color=FAILED_COLOR, height=200)
    st.dataframe(shown, hide_index=True, width="stretch")


def _ratings(rated: pd.DataFrame, period: Period, lang: str) -> None:
    """Thumbs up and down on replies: per day as bars, per model as a table."""
    st.subheader(t(lang, "usage_ratings"))
    if rated.empty:
        st.caption(t(lang, "usage_ratings_none"))
        return
    up, down, day = t(lang, "usage_rated_up"), t(lang, "usage_rated_down"), t(lang, "usage_day")
    daily = ratings_per_day(rated, period)
    chart = pd.DataFrame({day: pd.to_datetime(daily["day"]), up: daily["up"], down: daily["down"]})
    st.bar_chart(chart, x=day, y=[up, down], color=[UP_COLOR, DOWN_COLOR], height=200)
    models = ratings_per_model(rated)
    st.dataframe(
        pd.DataFrame(
            {
                t(lang, "usage_model"): models["model"],
                up: models["up"],
                down: models["down"],
                t(lang, "usage_share_up"): (models["share_up"] * 100).round().astype("int64"),
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={t(lang, "usage_share_up"): st.column_config.NumberColumn(format="%d%%")},
    )
