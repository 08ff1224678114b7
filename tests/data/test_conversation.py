"""The conversation model, its exports, its settings and its words."""

from __future__ import annotations

import json

import pytest

from chatpage.data.conversation import CONTINUE_PROMPT, Conversation, ErrorInfo, Message, Status
from chatpage.data.export import ImportRefused, file_stem, from_json, to_json, to_markdown
from chatpage.data.failures import describe, explain
from chatpage.i18n import STRINGS, pick_language, t
from chatpage.settings import load_settings
from liaobots_core import (
    AuthError,
    ConnectionFailedError,
    GuestRefusedError,
    HumanCheckError,
    InsufficientBalanceError,
    LiaobotsError,
    MissingAuthCodeError,
    ProtocolError,
    RateLimitError,
    StreamTimeoutError,
    UnknownModelError,
    UpstreamError,
)


def chat(*pairs: tuple[str, str]) -> Conversation:
    conversation = Conversation(model_id="gpt-4")
    for role, text in pairs:
        conversation.append(Message(role=role, text=text))  # type: ignore[arg-type]
    return conversation


def test_title_defaults_to_the_start_of_the_first_message() -> None:
    conversation = chat(("user", "  Как   приготовить борщ " + "очень " * 20), ("assistant", "…"))
    assert conversation.display_title.startswith("Как приготовить борщ очень")
    assert len(conversation.display_title) <= 60
    assert conversation.display_title.endswith("…")


def test_failed_reply_without_text_is_left_out_and_questions_are_joined() -> None:
    conversation = chat(("user", "one"))
    conversation.append(Message("assistant", "", Status.FAILED, error=ErrorInfo("auth")))
    conversation.add_user("two")
    assert conversation.wire_messages() == [{"role": "user", "content": "one\n\ntwo"}]


def test_stopped_reply_keeps_its_text_in_the_history_sent() -> None:
    conversation = chat(("user", "q"))
    conversation.append(Message("assistant", "partial", Status.STOPPED))
    assert conversation.wire_messages(then_continue=True) == [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "partial"},
        {"role": "user", "content": CONTINUE_PROMPT},
    ]


def test_streaming_reply_is_not_sent() -> None:
    conversation = chat(("user", "q"))
    reply = conversation.start_reply("gpt-4")
    reply.text = "half"
    assert conversation.wire_messages() == [{"role": "user", "content": "q"}]
    assert conversation.streaming() is reply


def test_editing_a_question_starts_a_branch_and_keeps_the_old_one() -> None:
    conversation = chat(("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "d"))
    old = conversation.messages[2]
    new = conversation.edit(old.id, "c2")
    assert [m.text for m in conversation.messages] == ["a", "b", "c2"]
    assert conversation.siblings(new) == [old, new]
    conversation.switch_to(old.id)
    assert [m.text for m in conversation.messages] == ["a", "b", "c", "d"]
    assert len(conversation.tree) == 5


def test_editing_the_first_question_keeps_both_roots() -> None:
    conversation = chat(("user", "a"), ("assistant", "b"))
    first = conversation.messages[0]
    conversation.edit(first.id, "a2")
    assert [m.text for m in conversation.messages] == ["a2"]
    assert [m.text for m in conversation.siblings(first)] == ["a", "a2"]
    assert conversation.wire_messages() == [{"role": "user", "content": "a2"}]


def test_a_regenerated_reply_is_a_sibling_and_only_the_branch_on_show_is_sent() -> None:
    conversation = chat(("user", "q"), ("assistant", "first answer"))
    old = conversation.last
    conversation.branch_for_new_reply(old.id)
    assert conversation.leaf_id == old.parent_id
    new = conversation.start_reply("gpt-4")
    new.text, new.status = "second answer", Status.COMPLETE
    assert [m.text for m in conversation.siblings(new)] == ["first answer", "second answer"]
    assert conversation.wire_messages()[-1] == {"role": "assistant", "content": "second answer"}
    conversation.switch_to(old.id)
    assert conversation.wire_messages()[-1] == {"role": "assistant", "content": "first answer"}


def test_switching_to_a_version_shows_its_newest_continuation() -> None:
    conversation = chat(("user", "q"), ("assistant", "a1"))
    first = conversation.last
    conversation.append(Message("user", "follow-up"))
    deep = conversation.append(Message("assistant", "deep"))
    conversation.branch_for_new_reply(deep.id)
    conversation.rewind_to(first.parent_id)
    conversation.append(Message("assistant", "a2"))
    conversation.switch_to(first.id)
    assert [m.text for m in conversation.messages] == ["q", "a1", "follow-up", "deep"]


def test_absorbing_the_stored_state_keeps_this_copys_branch_and_follows_it() -> None:
    mine = chat(("user", "q"), ("assistant", "a"))
    theirs = Conversation.linear(
        [Message(m.role, m.text, id=m.id, created_at=m.created_at) for m in mine.messages],
        model_id="gpt-4",
        id=mine.id,
    )
    theirs.append(Message("user", "added elsewhere"))
    theirs.revision = 7
    mine.absorb(theirs)
    assert [m.text for m in mine.messages] == ["q", "a", "added elsewhere"]
    assert mine.revision == 7


def test_markdown_export_names_roles_and_marks_cut_replies() -> None:
    conversation = chat(("user", "Привет"))
    conversation.append(Message("assistant", "Здрав", Status.STOPPED))
    text = to_markdown(conversation, "en")
    assert "## You\n\nПривет" in text
    assert "## Assistant (stopped)\n\nЗдрав" in text


def test_json_export_round_trips_every_message() -> None:
    conversation = chat(("user", "<script>x</script>"), ("assistant", "ok 👋"))
    document = json.loads(to_json(conversation))
    assert document["format"] == "liaobots-chat"
    restored = [Message.from_dict(m) for m in document["conversation"]["messages"]]
    assert restored == conversation.messages


def test_file_stem_is_safe_for_any_title() -> None:
    assert file_stem(chat(("user", "../../etc/passwd? <b>")).display_title) == "etc-passwd-b"
    assert file_stem(chat().display_title) == "conversation"


def test_every_string_exists_in_every_language() -> None:
    keys = set(STRINGS["en"])
    for lang, table in STRINGS.items():
        assert set(table) == keys, lang


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("ru-RU", "ru"), ("ru", "ru"), ("en-GB", "en"), ("de-DE", "en"), (None, "en")],
)
def test_language_follows_the_browser_locale(locale: str | None, lang: str) -> None:
    assert pick_language(locale) == lang


def test_missing_translation_falls_back_to_english() -> None:
    assert t("xx", "stop") == "Stop"


@pytest.mark.parametrize(
    ("error", "level", "words"),
    [
        (MissingAuthCodeError(), "error", "No auth code is set"),
        (AuthError(status_code=401), "error", "rejected (401)"),
        (HumanCheckError(), "error", "web page"),
        (InsufficientBalanceError(), "error", "(402)"),
        (RateLimitError(7), "warning", "Wait 7 s"),
        (RateLimitError(None), "warning", "Wait a moment"),
        (UpstreamError(503), "error", "failing (503)"),
        (UpstreamError(418), "error", "refused the request (418)"),
        (StreamTimeoutError(60, during_reply=True), "warning", "60 s"),
        (ConnectionFailedError("http://x", during_reply=True), "error", "broke"),
        (ConnectionFailedError("http://x", during_reply=False), "error", "Could not reach"),
        (ProtocolError("bad"), "error", "cannot read"),
        (GuestRefusedError("guest login was refused (403)", 403), "error", "offline demo"),
    ],
)
def test_every_client_error_has_words_a_person_can_act_on(
    error: Exception, level: str, words: str
) -> None:
    shown_level, text = explain(describe(error), "en")  # type: ignore[arg-type]
    assert shown_level == level
    assert words in text
    assert str(error) not in text  # the page's own words, not the client's technical line
    assert explain(describe(error), "ru")[1] != text  # type: ignore[arg-type]


def test_the_page_keeps_the_client_errors_facts_not_its_words() -> None:
    limited = ErrorInfo("rate_limit", status_code=429, retry_after=7.0)
    assert describe(RateLimitError(7.0)) == limited
    assert describe(GuestRefusedError("no guest code", 403)) == ErrorInfo(
        "guest_refused", status_code=403
    )
    assert describe(StreamTimeoutError(60, during_reply=False)) == ErrorInfo(
        "timeout", retry_after=60
    )
    assert describe(UnknownModelError("gpt-9", ["gpt-4"])).kind == "config"
    assert describe(LiaobotsError("anything else")).kind == "unknown"


def test_the_page_says_a_rejected_code_and_a_rate_limit_in_its_own_words() -> None:
    rejected, limited = describe(AuthError(status_code=401)), describe(RateLimitError(7.0))
    assert explain(rejected, "en")[1] == (
        "The auth code was rejected (401). Paste a new code in the sidebar or set "
        "LIAOBOTS_AUTH_CODE."
    )
    assert "боковой панели" in explain(rejected, "ru")[1]
    assert explain(limited, "en") == (
        "warning",
        "The service is rate limiting requests (429). Wait 7 s and retry.",
    )
    assert explain(limited, "ru")[1] == (
        "Сервис ограничивает частоту запросов (429). Подождите 7 с и повторите."
    )


def test_secrets_win_over_the_environment_and_the_code_stays_out_of_reprs() -> None:
    settings = load_settings(
        [
            {"LIAOBOTS_AUTH_CODE": "from-secrets"},
            {"LIAOBOTS_AUTH_CODE": "from-env", "LIAOBOTS_OFFLINE_DEMO": "yes"},
        ]
    )
    assert settings.auth_code == "from-secrets"
    assert settings.offline_demo
    assert "from-secrets" not in repr(settings)


def test_a_secrets_source_that_raises_is_skipped_and_asked_only_once() -> None:
    class NoSecretsFile:
        reads = 0

        def get(self, name: str) -> None:
            self.reads += 1  # st.secrets looks for its files again on every read
            raise FileNotFoundError("no secrets.toml")

    missing = NoSecretsFile()
    settings = load_settings([missing, {"LIAOBOTS_BASE_URL": "http://x"}])
    assert settings.base_url == "http://x"
    assert missing.reads == 1


def test_markdown_export_holds_the_branch_on_show_and_json_every_version() -> None:
    conversation = chat(("user", "question"), ("assistant", "old answer"))
    conversation.branch_for_new_reply(conversation.leaf_id)
    conversation.append(Message("assistant", "new answer"))
    markdown = to_markdown(conversation, "en")
    assert "new answer" in markdown
    assert "old answer" not in markdown
    document = json.loads(to_json(conversation))
    assert document["version"] == 2
    assert {m["text"] for m in document["conversation"]["messages"]} == {
        "question",
        "old answer",
        "new answer",
    }
    assert document["conversation"]["current_leaf_id"] == conversation.leaf_id


@pytest.mark.parametrize(
    "messages",
    [
        [{"id": "aaaaaaaa1", "parent_id": "aaaaaaaa1", "role": "user", "text": "loop"}],
        [{"id": "aaaaaaaa1", "parent_id": "missing-01", "role": "user", "text": "orphan"}],
        [
            {"id": "aaaaaaaa1", "role": "user", "text": "twice"},
            {"id": "aaaaaaaa1", "role": "user", "text": "twice"},
        ],
    ],
    ids=["cycle", "orphan", "duplicate-id"],
)
def test_a_tree_export_with_a_broken_shape_is_refused(messages: list[dict[str, str]]) -> None:
    document = {"format": "liaobots-chat", "version": 2, "conversation": {"messages": messages}}
    with pytest.raises(ImportRefused):
        from_json(json.dumps(document).encode())
