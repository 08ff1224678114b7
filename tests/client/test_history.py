"""History fitting keeps the newest question and drops the oldest turns first."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liaobots_core.errors import ConfigurationError
from liaobots_core.history import fit_history, normalize_messages


def turns(*sizes: int) -> list[dict[str, str]]:
    roles = ["user", "assistant"]
    return [{"role": roles[i % 2], "content": "x" * n} for i, n in enumerate(sizes)]


def test_history_that_fits_is_sent_whole() -> None:
    fitted = fit_history(turns(10, 10, 10), max_length=100, system_prompt="s" * 10)
    assert fitted.dropped == 0
    assert not fitted.trimmed
    assert len(fitted.messages) == 3


def test_oldest_turns_are_dropped_first_and_reported() -> None:
    fitted = fit_history(turns(50, 50, 50, 50, 10), max_length=120)
    assert fitted.dropped == 2
    assert fitted.dropped_chars == 100
    assert [len(m["content"]) for m in fitted.messages] == [50, 50, 10]


def test_kept_history_never_opens_with_an_orphaned_answer() -> None:
    fitted = fit_history(turns(100, 5, 5, 5, 5), max_length=20)
    assert fitted.messages[0]["role"] == "user"


def test_newest_message_stays_even_when_alone_it_is_too_long() -> None:
    fitted = fit_history(turns(5, 5, 500), max_length=100)
    assert fitted.messages == [{"role": "user", "content": "x" * 500}]
    assert fitted.over_budget


def test_the_system_prompt_counts_against_the_budget() -> None:
    fitted = fit_history(turns(40, 40, 40), max_length=100, system_prompt="p" * 30)
    assert fitted.dropped == 2


@given(
    st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=30).map(
        lambda sizes: turns(*sizes) if len(sizes) % 2 else turns(*sizes, 1)
    ),
    st.integers(min_value=1, max_value=3000),
)
def test_fitted_history_is_a_suffix_that_fits_or_is_the_last_message(
    messages: list[dict[str, str]], max_length: int
) -> None:
    fitted = fit_history(messages, max_length)
    assert fitted.messages == messages[fitted.dropped :]
    assert fitted.messages[-1] == messages[-1]
    size = sum(len(m["content"]) for m in fitted.messages)
    assert size <= max_length or fitted.messages == messages[-1:]
    assert fitted.over_budget == (size > max_length)


def test_conversation_must_end_with_a_user_message() -> None:
    with pytest.raises(ConfigurationError, match="end with a user message"):
        normalize_messages(turns(5, 5))


def test_unknown_role_is_refused_with_the_valid_ones() -> None:
    with pytest.raises(ConfigurationError, match="'user', 'assistant' or 'system'"):
        normalize_messages([{"role": "bot", "content": "hi"}])
