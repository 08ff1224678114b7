"""Every word the page shows, in English and Russian, from gettext catalogs.

The words live in `locales/<lang>/LC_MESSAGES/chatpage.po`, one file per language, with
symbolic message ids (the keys the code passes to `t`). They are compiled in memory when this
module is imported (Babel's `read_po`, then `write_mo` into a buffer, then gettext), so the
`.po` files are the one source and there is no build step or `.mo` file to keep in step.

`t(lang, key, **values)` formats a string. A key in `COUNTED_BY` has plural forms: the value of
its counting placeholder picks the form by the language's CLDR plural rule (Russian: 1
сообщение, 2 сообщения, 5 сообщений, 21 сообщение). `{n:,}` groups a number's digits and a
date or time is written as the language writes it, both through Babel. A missing Russian
string falls back to English, so a new feature never shows a raw key.
"""

from __future__ import annotations

import io
import string
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from types import MappingProxyType

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LANGUAGES: Mapping[str, str] = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"
DOMAIN = "chatpage"
LOCALES = Path(__file__).resolve().parent / "locales"

# The keys with plural forms, and the placeholder whose number picks the form.
COUNTED_BY: Mapping[str, str] = MappingProxyType(
    {
        "trimmed_note": "count",
        "error_control_chars": "count",
        "error_too_long": "length",
        "error_question_too_long": "length",
        "error_busy_person": "limit",
        "error_file_text_too_long": "limit",
        "error_files_too_long": "length",
        "error_demo_turns": "limit",
        "error_demo_per_minute": "limit",
        "error_demo_per_day": "limit",
        "error_limit_requests_day": "limit",
        "error_limit_requests_month": "limit",
        "error_limit_chars_day": "limit",
        "error_limit_chars_month": "limit",
        "wait_days": "days",
        "import_too_deep": "limit",
        "import_demo_count": "limit",
        "prompt_too_many": "limit",
        "reply_about": "chars",
        "public_demo_note": "per_minute",
        "usage_last_days": "days",
    }
)


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _load(lang: str) -> tuple[Translations, dict[str, str | tuple[str, ...]]]:
    """The language's catalog as gettext translations, and its templates by key."""
    with po_path(lang).open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    templates: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if message.id:
            key = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
            value = message.string
            templates[key] = tuple(value) if isinstance(value, (list, tuple)) else value
    return Translations(compiled, domain=DOMAIN), templates


_loaded = {lang: _load(lang) for lang in LANGUAGES}
for _lang, (_translations, _) in _loaded.items():
    if _lang != DEFAULT_LANGUAGE:
        _translations.add_fallback(_loaded[DEFAULT_LANGUAGE][0])

# The templates as the catalogs hold them: a string, or a tuple of plural forms.
STRINGS: Mapping[str, Mapping[str, str | tuple[str, ...]]] = MappingProxyType(
    {lang: MappingProxyType(templates) for lang, (_, templates) in _loaded.items()}
)


class _LanguageFormatter(string.Formatter):
    """`str.format` whose `{n:,}` and dates follow the language (1,000 / 1 000; Mar 1 / 1 мар.)."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def format_field(self, value: object, format_spec: str) -> str:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and format_spec == ",":
            return format_decimal(value, locale=self.lang)  # type: ignore[arg-type]
        if isinstance(value, datetime):  # in its own time zone: a date, then the short time
            day = format_date(value, format=format_spec or "medium", locale=self.lang)
            time = format_time(value, format="short", tzinfo=value.tzinfo, locale=self.lang)
            return f"{day} {time}"
        if isinstance(value, date):
            return format_date(value, format=format_spec or "medium", locale=self.lang)
        return super().format_field(value, format_spec)


@cache
def _formatter(lang: str) -> _LanguageFormatter:
    return _LanguageFormatter(lang)


def pick_language(locale: str | None) -> str:
    """The page language for a browser locale such as 'ru-RU'; English otherwise."""
    if locale:
        primary = locale.replace("_", "-").split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def t(lang: str, key: str, **values: object) -> str:
    if key not in STRINGS[DEFAULT_LANGUAGE]:
        raise KeyError(key)
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    translations = _loaded[lang][0]
    counted_by = COUNTED_BY.get(key)
    if counted_by is None:
        template = translations.gettext(key)
    else:
        template = translations.ngettext(key, key, _count(values.get(counted_by)))
    return _formatter(lang).format(template, **values) if values else template


def _count(value: object) -> int:
    """The number that picks a plural form; anything else takes the general ("many") form."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0
    return abs(int(value)) if abs(value) < 1e18 else 0
