"""The page's words: both catalogs complete and alike, every count in the right plural form."""

from __future__ import annotations

import gettext
import string
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from chatpage.i18n import COUNTED_BY, LANGUAGES, STRINGS, po_path, t

COUNTS = (1, 2, 5, 11, 21, 22)
# The CLDR category of each count, as the language says it.
ENGLISH = {1: "one", 2: "other", 5: "other", 11: "other", 21: "other", 22: "other"}
RUSSIAN = {1: "one", 2: "few", 5: "many", 11: "many", 21: "one", 22: "few"}

# key: the words around the count, {n} standing for it: English (one, other), then Russian
# (one, few, many).
FORMS: dict[str, tuple[tuple[str, str], tuple[str, str, str]]] = {
    "trimmed_note": (
        ("{n} older message was left out", "{n} older messages were left out"),
        (
            "{n} старое сообщение не вошло",
            "{n} старых сообщения не вошли",
            "{n} старых сообщений не вошли",
        ),
    ),
    "error_control_chars": (
        ("contained {n} control character (", "contained {n} control characters ("),
        (
            "был {n} управляющий символ (",
            "было {n} управляющих символа (",
            "было {n} управляющих символов (",
        ),
    ),
    "error_too_long": (
        ("({n} character;", "({n} characters;"),
        ("({n} символ;", "({n} символа;", "({n} символов;"),
    ),
    "error_question_too_long": (
        ("({n} character;", "({n} characters;"),
        ("({n} символ;", "({n} символа;", "({n} символов;"),
    ),
    "error_files_too_long": (
        ("({n} character;", "({n} characters;"),
        ("({n} символ;", "({n} символа;", "({n} символов;"),
    ),
    "error_busy_person": (
        ("have {n} reply being written", "have {n} replies being written"),
        ("пишется {n} ответ.", "пишутся {n} ответа.", "пишется {n} ответов."),
    ),
    "error_file_text_too_long": (
        ("more than {n} character)", "more than {n} characters)"),
        ("больше {n} символа)", "больше {n} символов)", "больше {n} символов)"),
    ),
    "error_demo_turns": (
        ("limit of {n} message.", "limit of {n} messages."),
        ("предела в {n} сообщение.", "предела в {n} сообщения.", "предела в {n} сообщений."),
    ),
    "error_demo_per_minute": (
        ("at most {n} message a minute", "at most {n} messages a minute"),
        (
            "не больше {n} сообщения в минуту",
            "не больше {n} сообщений в минуту",
            "не больше {n} сообщений в минуту",
        ),
    ),
    "error_demo_per_day": (
        ("at most {n} message a day", "at most {n} messages a day"),
        (
            "не больше {n} сообщения в день",
            "не больше {n} сообщений в день",
            "не больше {n} сообщений в день",
        ),
    ),
    "error_limit_requests_day": (
        ("your {n} message for today", "your {n} messages for today"),
        (
            "отправили {n} сообщение за сегодня",
            "отправили {n} сообщения за сегодня",
            "отправили {n} сообщений за сегодня",
        ),
    ),
    "error_limit_requests_month": (
        ("your {n} message for this month", "your {n} messages for this month"),
        (
            "отправили {n} сообщение за этот месяц",
            "отправили {n} сообщения за этот месяц",
            "отправили {n} сообщений за этот месяц",
        ),
    ),
    "error_limit_chars_day": (
        ("limit of {n} character.", "limit of {n} characters."),
        ("предела в {n} символ.", "предела в {n} символа.", "предела в {n} символов."),
    ),
    "error_limit_chars_month": (
        ("limit of {n} character.", "limit of {n} characters."),
        ("предела в {n} символ.", "предела в {n} символа.", "предела в {n} символов."),
    ),
    "wait_days": (("{n} day", "{n} days"), ("{n} день", "{n} дня", "{n} дней")),
    "import_too_deep": (
        ("more than {n} level deep", "more than {n} levels deep"),
        ("глубже {n} уровня,", "глубже {n} уровней,", "глубже {n} уровней,"),
    ),
    "import_demo_count": (
        ("at most {n} conversation a day", "at most {n} conversations a day"),
        (
            "не больше {n} разговора в день",
            "не больше {n} разговоров в день",
            "не больше {n} разговоров в день",
        ),
    ),
    "prompt_too_many": (
        ("You keep {n} prompt already", "You keep {n} prompts already"),
        ("У вас уже {n} промпт;", "У вас уже {n} промпта;", "У вас уже {n} промптов;"),
    ),
    "reply_about": (
        ("gpt-4 · {n} character", "gpt-4 · {n} characters"),
        ("gpt-4 · {n} символ", "gpt-4 · {n} символа", "gpt-4 · {n} символов"),
    ),
    "public_demo_note": (
        ("up to {n} message a minute", "up to {n} messages a minute"),
        ("до {n} сообщения в минуту", "до {n} сообщений в минуту", "до {n} сообщений в минуту"),
    ),
    "usage_last_days": (
        ("Last {n} day", "Last {n} days"),
        ("Последний {n} день", "Последние {n} дня", "Последние {n} дней"),
    ),
}
OTHER_VALUES = {
    "limit": 7, "seconds": 30, "hours": 3, "wait": "2 h 5 min", "model": "gpt-4", "per_day": 50,
}  # fmt: skip


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def forms(template: str | tuple[str, ...]) -> tuple[str, ...]:
    return template if isinstance(template, tuple) else (template,)


def said(lang: str, key: str, n: int) -> str:
    return t(lang, key, **{**OTHER_VALUES, "count": 0, "length": 0, "days": 0, "chars": 0,
                           "per_minute": 0, COUNTED_BY[key]: n})  # fmt: skip


def test_every_counted_key_has_its_words_checked_here() -> None:
    assert set(FORMS) == set(COUNTED_BY)


@pytest.mark.parametrize("n", COUNTS)
@pytest.mark.parametrize("key", sorted(COUNTED_BY))
def test_every_count_reads_right_in_english_and_russian(key: str, n: int) -> None:
    (en_one, en_other), (ru_one, ru_few, ru_many) = FORMS[key]
    english = {"one": en_one, "other": en_other}[ENGLISH[n]].format(n=n)
    russian = {"one": ru_one, "few": ru_few, "many": ru_many}[RUSSIAN[n]].format(n=n)
    assert english in said("en", key, n)
    assert russian in said("ru", key, n)


def test_russian_messages_take_three_forms_as_cldr_says() -> None:
    shown = [t("ru", "error_demo_turns", limit=n) for n in COUNTS]
    assert [text.split("предела в ")[1].split(".")[0] for text in shown] == [
        "1 сообщение", "2 сообщения", "5 сообщений", "11 сообщений", "21 сообщение",
        "22 сообщения",
    ]  # fmt: skip


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_each_po_file_parses_complete_with_no_fuzzy_or_empty_entry(lang: str) -> None:
    with po_path(lang).open("rb") as po:
        catalog = read_po(po, locale=lang)
    assert str(catalog.locale) == lang
    messages = [m for m in catalog if m.id]
    assert messages
    for message in messages:
        assert not message.fuzzy, message.id
        assert all(forms(tuple(message.string) if message.pluralizable else message.string))
        if message.pluralizable:
            assert len(message.string) == catalog.num_plurals, message.id


def test_no_key_is_missing_in_either_language() -> None:
    keys = {lang: set(table) for lang, table in STRINGS.items()}
    assert keys["ru"] == keys["en"], keys["ru"] ^ keys["en"]


def test_plural_keys_are_exactly_the_counted_ones_in_both_catalogs() -> None:
    for lang, table in STRINGS.items():
        plural = {key for key, template in table.items() if isinstance(template, tuple)}
        assert plural == set(COUNTED_BY), lang


def test_every_key_has_the_same_placeholders_in_every_language_and_form() -> None:
    for key, english in STRINGS["en"].items():
        expected = placeholders(forms(english)[-1])
        for lang, table in STRINGS.items():
            for form in forms(table[key]):
                assert placeholders(form) == expected, (lang, key, form)
        if key in COUNTED_BY:
            assert COUNTED_BY[key] in expected, key


@pytest.mark.parametrize(("lang", "categories"), [("en", ENGLISH), ("ru", RUSSIAN)])
def test_the_catalogs_plural_rule_is_the_cldr_rule(lang: str, categories: dict) -> None:
    with po_path(lang).open("rb") as po:
        catalog = read_po(po, locale=lang)
    rule = gettext.c2py(catalog.plural_expr)
    order = {"en": ("one", "other"), "ru": ("one", "few", "many")}[lang]
    for n in range(0, 1002):
        assert order[rule(n)] == Locale.parse(lang).plural_form(n), n
    for n, category in categories.items():
        assert Locale.parse(lang).plural_form(n) == category


def test_grouped_numbers_follow_the_language() -> None:
    english = t("en", "error_limit_chars_day", limit=100_000, wait="1 h")
    russian = t("ru", "error_limit_chars_day", limit=100_000, wait="1 ч")
    assert "limit of 100,000 characters." in english
    assert "предела в 100\xa0000 символов." in russian


def test_dates_and_times_follow_the_language() -> None:
    first, last = date(2026, 3, 1), date(2026, 3, 7)
    assert t("en", "usage_period_note", first=first, last=last) == (
        "Mar 1, 2026 to Mar 7, 2026 (UTC days)"
    )
    assert t("ru", "usage_period_note", first=first, last=last) == (
        "С 1 мар. 2026\u202fг. по 7 мар. 2026\u202fг. (дни в UTC)"
    )
    when = datetime(2026, 3, 1, 15, 4, tzinfo=ZoneInfo("Europe/Moscow"))
    assert "on Mar 1, 2026 3:04\u202fPM ·" in t("en", "shared_by", name="ann", date=when)
    assert "ann, 1 мар. 2026\u202fг. 15:04 ·" in t("ru", "shared_by", name="ann", date=when)


def test_an_unknown_key_is_an_error_not_a_raw_key_on_the_page() -> None:
    with pytest.raises(KeyError):
        t("ru", "no_such_key")
