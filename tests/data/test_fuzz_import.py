"""Import files, fuzzed: any bytes give a conversation the page can use, or a refusal with a
reason; never another exception.

Files are made three ways: arbitrary bytes; real exports (both formats, flat v1 and tree v2)
with one field changed to a value of any type, deleted, or an id repeated; and documents
nested to any depth. Whatever imports must be storable (SQLite and PostgreSQL), showable
(Markdown, JSON, failure notes) and export again to the same file.
"""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chatpage.access.identity import LOCAL_OWNER
from chatpage.access.limits import CONTROL_CHARS, IMPORT_MAX_DEPTH, TITLE_MAX_CHARS
from chatpage.data.conversation import Attachment, Conversation, ErrorInfo, Message, Status
from chatpage.data.export import ImportRefused, from_json, to_json, to_markdown
from chatpage.data.failures import explain
from chatpage.database.conversations import ConversationStore
from chatpage.i18n import STRINGS, t
from liaobots_core.emulator import Emulator
from testkit.apptest import bubbles, fresh_session, send
from testkit.fuzzing import ODD_VALUES, STORED, dump, fuzz_settings

FAST = fuzz_settings(150)
STORED_SETTINGS = fuzz_settings(40)
LATEST_TIME = 253402300799.0
REFUSALS = {key for key in STRINGS["en"] if key.startswith("import_")} - {"import_help"}
NESTED_BRACKETS = b"[" * 100_000 + b"]" * 100_000  # 200 KB, well under the import limit
TEXT = st.text(STORED, max_size=30)
SETTLED = [s for s in Status if s is not Status.STREAMING]  # a file's streaming reply is cut
FAILURES = [
    ErrorInfo("rate_limit", status_code=429, retry_after=42.0),
    ErrorInfo("upstream", status_code=503),
    ErrorInfo("connection_cut"),
    ErrorInfo("timeout", retry_after=60.0),
]
TOP_FIELDS = ["format", "version", "conversation"]
CONVERSATION_FIELDS = [
    "id",
    "title",
    "model_id",
    "system_prompt",
    "created_at",
    "current_leaf_id",
    "messages",
]
MESSAGE_FIELDS = [
    *("id", "parent_id", "role", "text", "status", "model_id", "error", "created_at"),
    "attachments",
]
ATTACHMENT_FIELDS = ["name", "size", "text"]
FILES = st.lists(
    st.builds(
        Attachment,
        name=st.text(STORED, min_size=1, max_size=20).filter(
            lambda n: n.isprintable() and "`" not in n
        ),
        size=st.integers(0, 10**7),
        text=TEXT,
    ),
    max_size=2,
).map(tuple)
ERROR_FIELDS = ["kind", "status_code", "retry_after", "limit", "size"]


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    """A conversation the page could have made: questions, replies, edits, regenerations."""
    chat = Conversation(
        model_id=draw(st.sampled_from(["gpt-4", "gpt-3.5-turbo", "claude-3-5-sonnet"])),
        system_prompt=draw(TEXT),
        title=draw(st.none() | TEXT.filter(str.strip)),
    )
    chat.add_user(draw(TEXT), draw(FILES))
    for step in draw(st.lists(st.sampled_from(["reply", "ask", "edit", "regenerate"]), max_size=6)):
        last = chat.last
        if step == "reply" and last is not None and last.role == "user":
            status = draw(st.sampled_from(SETTLED))
            reply = chat.append(Message("assistant", draw(TEXT), status, model_id="gpt-4"))
            if status is Status.FAILED:
                reply.error = draw(st.sampled_from(FAILURES))
        elif step == "ask":
            chat.add_user(draw(TEXT), draw(FILES))
        elif step == "edit":
            questions = [m for m in chat.messages if m.role == "user"]
            chat.edit(draw(st.sampled_from(questions)).id, draw(TEXT))
        elif step == "regenerate" and chat.leaf_id is not None:
            chat.branch_for_new_reply(chat.leaf_id)
            chat.append(Message("assistant", draw(TEXT)))
    return chat


def flat(document: dict[str, Any]) -> dict[str, Any]:
    """The same conversation as a version 1 file: one chain, no ids or parents."""
    body = document["conversation"]
    chain = {m["id"]: m for m in body["messages"]}
    messages, node = [], chain.get(body["current_leaf_id"])
    while node is not None:
        messages.append({k: v for k, v in node.items() if k not in ("id", "parent_id")})
        node = chain.get(node["parent_id"])
    messages.reverse()
    kept = {k: v for k, v in body.items() if k not in ("id", "current_leaf_id", "messages")}
    return {"format": "liaobots-chat", "version": 1, "conversation": {**kept, "messages": messages}}


@st.composite
def damaged_exports(draw: st.DrawFn) -> bytes:
    """A real export, flat or tree, with one thing changed, then encoded one way or another."""
    document = json.loads(to_json(draw(conversations())))
    if draw(st.booleans()):
        document = flat(document)
    body = document["conversation"]
    messages = body["messages"]
    changes = ["top", "conversation", "message", "error", "attachment", "repeat", "none"]
    change = draw(st.sampled_from(changes))
    if change == "top":
        _set_or_delete(draw, document, draw(st.sampled_from(TOP_FIELDS)))
    elif change == "conversation":
        _set_or_delete(draw, body, draw(st.sampled_from(CONVERSATION_FIELDS)))
    elif change == "message":
        target = draw(st.sampled_from(messages))
        _set_or_delete(draw, target, draw(st.sampled_from(MESSAGE_FIELDS)))
    elif change == "error":
        target = draw(st.sampled_from(messages))
        target["error"] = {field: draw(ODD_VALUES) for field in ERROR_FIELDS}
    elif change == "attachment":
        target = draw(st.sampled_from(messages))
        files = target.setdefault("attachments", [{"name": "a.txt", "size": 1, "text": "a"}])
        _set_or_delete(draw, files[0], draw(st.sampled_from(ATTACHMENT_FIELDS)))
    elif change == "repeat" and len(messages) > 1 and "id" in messages[0]:
        first, second = draw(st.lists(st.sampled_from(messages), min_size=2, max_size=2))
        second["id"] = first["id"]
    if draw(st.booleans()):
        messages.reverse()  # parents after children: order in the file must not matter
    text = dump(document)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
    return text.encode(encoding, errors="surrogatepass")


def _set_or_delete(draw: st.DrawFn, target: dict[str, Any], field: str) -> None:
    if draw(st.booleans()):
        target[field] = draw(ODD_VALUES)
    else:
        target.pop(field, None)


def read(data: bytes) -> Conversation | None:
    """The import's outcome: the conversation, or None after a refusal with a known reason."""
    try:
        conversation = from_json(data)
    except ImportRefused as refused:
        assert_explained(refused)
        return None
    assert_usable(conversation)
    return conversation


def assert_explained(refused: ImportRefused) -> None:
    """A refusal names a reason the page has words for, in both languages, with its figures."""
    assert refused.key in REFUSALS
    assert t("en", refused.key, **refused.values)
    assert t("ru", refused.key, **refused.values)


def assert_usable(conversation: Conversation) -> None:
    """Everything the page does with an imported conversation works."""
    assert conversation.tree
    assert conversation.leaf_id in conversation.tree
    assert math.isfinite(conversation.created_at)
    assert 0 <= conversation.created_at <= LATEST_TIME
    assert 0 < len(conversation.model_id) <= 200
    assert not CONTROL_CHARS.search(conversation.system_prompt)
    if conversation.title is not None:
        assert conversation.title.strip()
        assert len(conversation.title) <= TITLE_MAX_CHARS
        assert not CONTROL_CHARS.search(conversation.title)
    for message in conversation.tree.values():
        assert message.role in ("user", "assistant")
        assert 8 <= len(message.id) <= 64
        assert message.parent_id is None or message.parent_id in conversation.tree
        assert not CONTROL_CHARS.search(message.text)
        message.text.encode("utf-8")  # storable in any database
        assert 0 <= message.created_at <= LATEST_TIME
        assert message.status is not Status.STREAMING
        assert message.model_id is None or 0 < len(message.model_id) <= 200
        if message.error is not None:
            for lang in ("en", "ru"):
                explain(message.error, lang)
    for lang in ("en", "ru"):
        to_markdown(conversation, lang)
    exported = to_json(conversation)
    assert to_json(from_json(exported.encode())) == exported  # export, import, export


@pytest.fixture
def import_store(database_url: str) -> Iterator[ConversationStore]:
    store = ConversationStore(database_url)
    yield store
    store.close()


# --- the roots of the two cases found by trying ----------------------------------------------


def test_a_file_of_nested_brackets_is_refused_as_too_deep() -> None:
    with pytest.raises(ImportRefused) as refused:
        from_json(NESTED_BRACKETS)
    assert refused.value.key == "import_too_deep"
    assert refused.value.values == {"limit": IMPORT_MAX_DEPTH}
    words = t("en", "import_too_deep", limit=IMPORT_MAX_DEPTH)
    assert "16 levels" in words
    assert "nothing was imported" in words
    assert t("ru", "import_too_deep", limit=IMPORT_MAX_DEPTH) != words


def test_an_export_saved_with_a_byte_order_mark_imports_like_the_plain_file() -> None:
    chat = Conversation(model_id="gpt-4", title="Сохранено в Блокноте")
    chat.add_user("Привет")
    chat.append(Message("assistant", "Здравствуйте"))
    exported = to_json(chat)
    for encoded in (codecs.BOM_UTF8 + exported.encode(), exported.encode("utf-16")):
        assert to_json(from_json(encoded)) == exported


def test_times_that_are_not_dates_become_now_and_the_file_still_imports() -> None:
    text = (
        '{"format": "liaobots-chat", "version": 2, "conversation": {"created_at": 1e999, '
        '"messages": [{"id": "question-1", "role": "user", "text": "hi", "created_at": NaN}, '
        '{"id": "answer-01", "parent_id": "question-1", "role": "assistant", "text": "hello", '
        '"status": "failed", "error": {"kind": "rate_limit", "retry_after": 1e999}, '
        '"created_at": -1e999}]}}'
    )
    conversation = read(text.encode())
    assert conversation is not None
    assert [m.text for m in conversation.messages] == ["hi", "hello"]
    reply = conversation.messages[-1]
    assert reply.error is not None
    assert reply.error.retry_after is None  # "wait a moment", not "wait infinity seconds"


# --- fuzzed -------------------------------------------------------------------------------


@FAST
@given(st.binary(max_size=400))
@example(b"\xef\xbb\xbf")
@example(b"\xff\xfe\x00\x00")
@example(b'"\\ud800"')
@example(b"1" * 5000)
def test_any_bytes_import_or_are_refused_with_a_reason(data: bytes) -> None:
    read(data)


@FAST
@given(st.lists(st.sampled_from(['{"a": ', "[", '"[', "\\", '"', "]", "}", "1e999", ","])))
def test_bracket_soup_imports_or_is_refused_with_a_reason(pieces: list[str]) -> None:
    read("".join(pieces).encode())


@FAST
@given(
    depth=st.integers(min_value=0, max_value=3000),
    opener=st.sampled_from(["[", '{"k": ']),
    inside_an_export=st.booleans(),
)
def test_nesting_past_the_limit_is_refused_as_too_deep_and_never_overflows(
    depth: int, opener: str, inside_an_export: bool
) -> None:
    closer = "]" if opener == "[" else "}"
    nested = opener * depth + "0" + closer * depth
    if inside_an_export:  # in a key the reader ignores: only the depth can refuse it
        text = (
            '{"format": "liaobots-chat", "version": 2, "conversation": {"extra": '
            + nested
            + ', "messages": [{"role": "user", "text": "hi"}]}}'
        )
        total = depth + 2
    else:
        text, total = nested, depth
    if total > IMPORT_MAX_DEPTH:
        with pytest.raises(ImportRefused, match="import_too_deep"):
            from_json(text.encode())
    elif inside_an_export:
        read_back = read(text.encode())
        assert read_back is not None
    else:  # shallow enough to read, but not an export
        with pytest.raises(ImportRefused, match="import_wrong_format"):
            from_json(text.encode())


@FAST
@given(conversations(), st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]))
def test_every_export_imports_back_the_same_in_every_encoding(
    chat: Conversation, encoding: str
) -> None:
    exported = to_json(chat)
    imported = read(exported.encode(encoding))
    assert imported is not None
    assert to_json(imported) == exported
    flat_file = dump(flat(json.loads(exported))).encode(encoding)
    chain = read(flat_file)
    assert chain is not None
    assert [(m.role, m.text) for m in chain.messages] == [(m.role, m.text) for m in chat.messages]


@FAST
@given(damaged_exports())
def test_a_damaged_export_imports_usably_or_is_refused_with_a_reason(data: bytes) -> None:
    read(data)


@STORED_SETTINGS
@given(data=damaged_exports())
def test_whatever_imports_is_stored_and_read_back_whole(
    import_store: ConversationStore, data: bytes
) -> None:
    conversation = read(data)
    if conversation is None:
        return
    while not import_store.create(conversation, LOCAL_OWNER):
        conversation.renew_ids()
    loaded = import_store.load(conversation.id, LOCAL_OWNER)
    assert loaded is not None
    assert {m.id: (m.role, m.text, m.parent_id) for m in loaded.tree.values()} == {
        m.id: (m.role, m.text, m.parent_id) for m in conversation.tree.values()
    }


# --- through the page -----------------------------------------------------------------------


@pytest.mark.usefixtures("own_database")
def test_after_refusing_the_bracket_file_the_page_keeps_working(configured: Emulator) -> None:
    at = fresh_session()
    at.sidebar.file_uploader[0].set_value(("brackets.json", NESTED_BRACKETS, "application/json"))
    at.run()
    assert not at.exception
    assert any("levels deep" in e.value for e in at.sidebar.error), at.sidebar.error
    assert len(at.chat_input) == 1
    send(at, "still here?")
    assert bubbles(at)[0] == ("user", "still here?")
    assert bubbles(at)[1][1]  # the reply came
