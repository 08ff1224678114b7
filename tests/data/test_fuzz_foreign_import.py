"""ChatGPT's and Claude's exports, fuzzed: any bytes give conversations the page can use, or
a refusal with a reason; never another exception.

Files are made four ways: arbitrary bytes (also inside a .zip); real exports with one field,
at any level, changed to a value of any type or deleted; ChatGPT mappings whose parent links
are drawn at random (cycles, links to nodes that are not there, nodes hidden at random); and
Claude chats whose parent links are drawn so. Whatever imports must be storable (SQLite and
PostgreSQL) and showable, exactly like a conversation from our own export.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data import foreign_imports
from chatpage.data.export import ImportRefused
from chatpage.data.foreign import Batch
from chatpage.database.conversations import ConversationStore
from chatpage.views.conversation_list.importing import Outcome, summary_lines
from testkit import foreign_exports as exports
from testkit.fuzzing import ODD_VALUES, STORED, dump, fuzz_settings
from tests.data.test_fuzz_import import assert_explained, assert_usable

FAST = fuzz_settings(150)
STORED_SETTINGS = fuzz_settings(30)
TEXT = st.text(STORED, max_size=20)


def read(data: bytes) -> Batch | None:
    """The import's outcome: what was found, or None after a refusal with a known reason."""
    try:
        batch = foreign_imports.read(data)
    except ImportRefused as refused:
        assert_explained(refused)
        return None
    for found in batch.found:
        assert_usable(found.conversation)
        assert found.source_id
        assert len(found.source_id) <= 100
        assert 0 <= found.updated_at <= 253402300799.0
    outcome = Outcome("file", batch.source, 0, 0, batch.tally.conversations, batch.tally.messages)
    for lang in ("en", "ru"):  # every reason counted has its words
        assert all(summary_lines(outcome, lang))
    return batch


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place inside a document where a value sits: dict keys and list indexes."""
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*path, index))


@st.composite
def damaged_exports(draw: st.DrawFn) -> bytes:
    """A real export, ChatGPT's or Claude's, with one value anywhere changed or deleted."""
    conversations = copy.deepcopy(
        draw(
            st.sampled_from(
                [
                    [exports.chatgpt_branched(), exports.chatgpt_with_tools()],
                    [exports.claude_branched(), exports.claude_flat()],
                ]
            )
        )
    )
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(conversations))[1:]))
        parent = conversations
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) or isinstance(parent, list):
            parent[path[-1]] = draw(ODD_VALUES)
        else:
            del parent[path[-1]]
    text = dump(conversations)
    encoded = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"])), "surrogatepass")
    return exports.as_zip(encoded) if draw(st.booleans()) else encoded


@st.composite
def random_mappings(draw: st.DrawFn) -> bytes:
    """A ChatGPT conversation whose nodes link to any node, to themselves, or to none there."""
    count = draw(st.integers(1, 12))
    ids = [f"n{i}" for i in range(count)]
    mapping: dict[str, Any] = {}
    for number, node_id in enumerate(ids):
        parent = draw(st.none() | st.sampled_from([*ids, "missing"]))
        role = draw(st.sampled_from(["user", "assistant", "system", "tool"]))
        message = {
            "id": node_id,
            "author": {"role": role},
            "create_time": draw(st.none() | st.floats(0, 2e9) | st.sampled_from([-1, 1e999])),
            "content": {"content_type": "text", "parts": [draw(TEXT)]},
            "metadata": {"is_visually_hidden_from_conversation": draw(st.booleans())},
            "recipient": "all",
        }
        mapping[node_id] = {
            "id": node_id,
            "parent": parent,
            "children": [],
            "message": None if number == 0 and draw(st.booleans()) else message,
        }
    conversation = {
        "title": draw(TEXT),
        "create_time": 1714000000.0,
        "mapping": mapping,
        "current_node": draw(st.sampled_from([*ids, "missing"])),
        "id": draw(st.text(max_size=10)),
    }
    return json.dumps([conversation], ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def random_claude_links(draw: st.DrawFn) -> bytes:
    """A Claude chat whose messages follow any message, themselves, or none there."""
    count = draw(st.integers(1, 10))
    ids = [f"m{i}" for i in range(count)]
    messages = [
        exports.claude_message(
            ids[i],
            draw(st.sampled_from(["human", "assistant", "system"])),
            draw(TEXT),
            draw(st.integers(0, 59)),
            draw(st.sampled_from([*ids, exports.CLAUDE_ROOT])),
        )
        for i in range(count)
    ]
    return exports.as_json([{"uuid": "c", "name": draw(TEXT), "chat_messages": messages}])


# --- fuzzed -------------------------------------------------------------------------------


@FAST
@given(st.binary(max_size=400))
@example(b"[]")
@example(b"[1, 2]")
@example(b'[{"mapping": []}]')
@example(b'[{"chat_messages": {}}]')
@example(b"PK\x05\x06" + b"\x00" * 18)
def test_any_bytes_import_or_are_refused_with_a_reason(data: bytes) -> None:
    if foreign_imports.is_foreign(data):
        read(data)


@FAST
@given(st.binary(max_size=400), st.sampled_from(["conversations.json", "a/conversations.json"]))
def test_any_bytes_zipped_as_an_export_import_or_are_refused_with_a_reason(
    data: bytes, name: str
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    read(buffer.getvalue())


@FAST
@given(damaged_exports())
def test_a_damaged_export_imports_usably_or_is_refused_with_a_reason(data: bytes) -> None:
    read(data)


@FAST
@given(random_mappings())
def test_any_shape_of_mapping_gives_a_connected_tree_or_a_reason(data: bytes) -> None:
    batch = read(data)
    assert batch is not None  # a list of conversations with a mapping is always read
    for found in batch.found:
        tree = found.conversation.tree
        for message in tree.values():  # connected: every parent is kept, and comes first
            if message.parent_id is not None:
                assert list(tree).index(message.parent_id) < list(tree).index(message.id)


@FAST
@given(random_claude_links())
def test_any_shape_of_claude_links_gives_a_connected_tree_or_a_reason(data: bytes) -> None:
    batch = read(data)
    assert batch is not None


@STORED_SETTINGS
@given(data=damaged_exports() | random_mappings())
def test_whatever_imports_is_stored_and_read_back_whole(
    import_store: ConversationStore, data: bytes
) -> None:
    batch = read(data)
    if batch is None:
        return
    for found in batch.found:
        conversation = found.conversation
        while not import_store.create(conversation, LOCAL_OWNER):
            conversation.renew_ids()
        loaded = import_store.load(conversation.id, LOCAL_OWNER)
        assert loaded is not None
        assert loaded.leaf_id == conversation.leaf_id
        assert {m.id: (m.role, m.text, m.parent_id) for m in loaded.tree.values()} == {
            m.id: (m.role, m.text, m.parent_id) for m in conversation.tree.values()
        }


@pytest.fixture
def import_store(database_url: str) -> Iterator[ConversationStore]:
    store = ConversationStore(database_url)
    yield store
    store.close()
