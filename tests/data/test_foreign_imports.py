"""ChatGPT's and Claude's exports read as our conversations: every branch, the branch shown,
what is left out counted, and every bound of a hostile file held (plain module, no page)."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from chatpage.data import foreign, foreign_imports
from chatpage.data.conversation import Conversation
from chatpage.data.export import ImportRefused, to_json
from chatpage.data.foreign import CHATGPT, CLAUDE, Batch
from testkit import foreign_exports as exports


def read(data: bytes) -> Batch:
    return foreign_imports.read(data)


def by_title(batch: Batch) -> dict[str | None, Conversation]:
    return {found.conversation.title: found.conversation for found in batch.found}


def shown(conversation: Conversation) -> list[str]:
    return [m.text for m in conversation.messages]


def versions(conversation: Conversation, text: str) -> list[str]:
    message = next(m for m in conversation.tree.values() if m.text == text)
    return [m.text for m in conversation.siblings(message)]


def refusal(data: bytes) -> str:
    with pytest.raises(ImportRefused) as refused:
        foreign_imports.read(data)
    return refused.value.key


# --- ChatGPT --------------------------------------------------------------------------------


def test_a_branched_chatgpt_conversation_keeps_both_branches_and_shows_current_node() -> None:
    batch = read(exports.chatgpt_zip())
    assert batch.source == CHATGPT
    lisbon = by_title(batch)["Lisbon day trip"]
    assert len(lisbon.tree) == 7  # the bare root and the hidden system note left out
    assert shown(lisbon) == [
        "Plan a day in Lisbon",
        "Morning: Alfama.",
        "Make it for a rainy day",
        "Museums: the Gulbenkian.",
    ]
    assert versions(lisbon, "Make it for a rainy day") == [
        "Make it cheaper",
        "Make it for a rainy day",
    ]
    assert versions(lisbon, "Museums: the Gulbenkian.") == [
        "Museums: the Gulbenkian.",
        "The Oceanarium, then fado.",
    ]
    assert lisbon.model_id == "gpt-4o"
    assert lisbon.created_at == exports.START
    assert lisbon.messages[1].model_id == "gpt-4o"
    found = next(f for f in batch.found if f.conversation is lisbon)
    assert found.source_id == exports.CHATGPT_ID
    assert found.updated_at == exports.START + 70


def test_the_branch_on_show_is_the_one_chatgpt_showed_whichever_it_was() -> None:
    batch = read(exports.as_json([exports.chatgpt_branched(current="a-2a")]))
    assert shown(batch.found[0].conversation)[2:] == ["Make it cheaper", "Walk, and eat bifanas."]


def test_a_hidden_node_s_children_hang_from_its_nearest_kept_ancestor() -> None:
    tools = by_title(read(exports.chatgpt_zip()))["Sales chart"]
    question, answer = tools.messages
    assert question.text == "[image]\n\nChart the sales in this photo\n\n[file: sales.png]"
    assert answer.text == "Here is the chart: sales rose in May."
    assert answer.parent_id == question.id  # past the reasoning, the code and its output
    assert len(tools.tree) == 2


def test_what_is_left_out_is_counted_by_reason() -> None:
    batch = read(exports.chatgpt_zip())
    assert dict(batch.tally.messages) == {
        "hidden": 1,
        "tool": 2,
        "reasoning": 1,
        "image": 1,
        "file": 1,
    }
    assert not batch.tally.conversations


def test_cycles_and_dangling_parents_in_a_mapping_still_give_a_connected_tree() -> None:
    conversation = exports.chatgpt_branched()
    mapping = conversation["mapping"]
    mapping["u-1"]["parent"] = "a-2b-2"  # u-1 -> ... -> a-2b-2 -> u-1: a cycle
    mapping["a-2a"]["parent"] = "not-there"
    batch = read(exports.as_json([conversation]))
    tree = batch.found[0].conversation.tree
    assert len(tree) == 7
    order = list(tree)
    for message in tree.values():
        if message.parent_id is not None:
            assert order.index(message.parent_id) < order.index(message.id)
    roots = [m.text for m in tree.values() if m.parent_id is None]
    assert "Walk, and eat bifanas." in roots


def test_a_conversation_without_anything_to_show_is_skipped_as_empty() -> None:
    conversation = exports.chatgpt_branched()
    conversation["mapping"] = {"root": {"id": "root", "parent": None, "message": None}}
    batch = read(exports.as_json([conversation, exports.chatgpt_with_tools()]))
    assert [f.conversation.title for f in batch.found] == ["Sales chart"]
    assert batch.tally.conversations == {"empty": 1}


# --- Claude ---------------------------------------------------------------------------------


def test_a_branched_claude_conversation_keeps_its_retried_reply_as_a_version() -> None:
    batch = read(exports.claude_zip())
    assert batch.source == CLAUDE
    essay = by_title(batch)["Essay feedback"]
    assert shown(essay) == [
        "Please review my essay",
        "Strong start; the ending is weak.",
        "How do I end it?",
        "Return to your opening image.",
    ]
    assert versions(essay, "Strong start; the ending is weak.") == [
        "It argues well; add sources.",
        "Strong start; the ending is weak.",
    ]
    question = essay.messages[0]
    assert [(a.name, a.size) for a in question.attachments] == [("essay.txt", 41)]
    assert question.attachments[0].text.startswith("Cats are better")


def test_an_older_claude_export_without_parent_links_is_one_chain() -> None:
    flat = by_title(read(exports.claude_zip()))[None]
    assert shown(flat) == ["Translate 'hello' to French", "Bonjour", "And to Russian?", "Привет"]
    assert flat.display_title == "Translate 'hello' to French"


# --- the file -------------------------------------------------------------------------------


def test_our_own_export_is_not_taken_for_a_foreign_one() -> None:
    chat = Conversation(model_id="gpt-4")
    chat.add_user("hi")
    assert not foreign_imports.is_foreign(to_json(chat).encode())
    assert not foreign_imports.is_foreign(to_json(chat).encode("utf-16"))
    assert foreign_imports.is_foreign(exports.as_json([]))
    assert foreign_imports.is_foreign(" \n[".encode("utf-16"))
    assert foreign_imports.is_foreign(exports.chatgpt_zip())


def test_only_conversations_json_is_read_from_the_zip_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../../escape.txt", "a path outside")
        archive.writestr("bomb.bin", b"\0" * (100 * 1024 * 1024))  # 100 MB in about 100 KB
        archive.writestr("export/conversations.json", b"not read: deeper than the top one")
        archive.writestr("conversations.json", exports.as_json([exports.claude_flat()]))
    assert len(buffer.getvalue()) < 1024 * 1024
    batch = read(buffer.getvalue())
    assert len(batch.found) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_conversations_json_past_the_bound_is_refused_as_declared() -> None:
    zipped = exports.as_zip(b"[" + b" " * 5000 + b"]")
    with pytest.raises(ImportRefused) as refused:
        foreign_imports.conversations_json(zipped, max_bytes=1000)
    assert refused.value.key == "import_too_large"


def test_a_zip_that_lies_about_its_size_stops_at_the_bound_as_it_unpacks() -> None:
    payload = b"[" + b" " * 5_000_000 + b"]"
    zipped = bytearray(exports.as_zip(payload))
    declared = struct.pack("<I", len(payload))
    small = struct.pack("<I", 100)
    assert zipped.count(declared) == 2  # the local header and the central directory
    zipped = zipped.replace(declared, small)
    with pytest.raises(ImportRefused) as refused:
        foreign_imports.conversations_json(bytes(zipped), max_bytes=1000)
    assert refused.value.key in ("import_too_large", "import_bad_zip")


def test_a_zip_of_too_many_files_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(foreign_imports, "FOREIGN_MAX_ZIP_MEMBERS", 5)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(6):
            archive.writestr(f"file-{number}.png", b"")
    assert refusal(buffer.getvalue()) == "import_zip_too_many"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"PK\x03\x04garbage", "import_bad_zip"),
        (exports.as_zip(b"{}")[:40], "import_bad_zip"),
        (exports.as_zip(b"[1, 2]").replace(b"conversations.json", b"conversation5.json"), None),
        (b"[" * 65 + b"]" * 65, "import_too_deep"),
        (b"[1, 2", "import_not_json"),
        (b"[1, 2]", "import_empty"),
        (b'[{"uuid": "x"}]', "import_wrong_format"),
    ],
    ids=["not-a-zip", "cut", "no-member", "deep", "not-json", "no-conversations", "other"],
)
def test_a_file_that_is_no_export_is_refused_with_a_reason(data: bytes, key: str | None) -> None:
    assert refusal(data) == (key or "import_zip_without_conversations")


def test_long_texts_are_cut_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(foreign, "FOREIGN_MAX_TEXT_CHARS", 10)
    batch = read(exports.as_json([exports.claude_flat()]))
    assert shown(batch.found[0].conversation)[0] == "Translate "
    assert batch.tally.messages["cut"] == 2  # the two questions; "Bonjour" and "Привет" fit


def test_conversations_past_the_file_s_bound_are_skipped_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(foreign, "FOREIGN_MAX_CONVERSATIONS", 1)
    batch = read(exports.as_json([exports.claude_flat(), exports.claude_branched()]))
    assert len(batch.found) == 1
    assert batch.tally.conversations == {"too_many": 1}


def test_a_conversation_past_the_message_bound_keeps_the_branch_on_show_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(foreign, "IMPORT_MAX_MESSAGES", 5)
    batch = read(exports.as_json([exports.chatgpt_branched()]))
    lisbon = batch.found[0].conversation
    assert len(lisbon.tree) == 5
    assert shown(lisbon)[-1] == "Museums: the Gulbenkian."
    assert batch.tally.messages["too_many"] == 2


def test_a_conversation_of_too_many_nodes_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(foreign, "FOREIGN_MAX_NODES", 3)
    batch = read(exports.chatgpt_zip())
    assert [f.conversation.title for f in batch.found] == []
    assert batch.tally.conversations == {"too_big": 2}


# --- in a bounded child ---------------------------------------------------------------------


def test_the_child_reads_an_export_as_the_module_does() -> None:
    def shape(batch: Batch) -> object:
        trees = [
            (f.source_id, f.updated_at, [(m.role, m.text) for m in f.conversation.tree.values()])
            for f in batch.found
        ]
        return batch.source, trees, batch.tally

    assert shape(foreign_imports.read_bounded(exports.chatgpt_zip())) == shape(
        read(exports.chatgpt_zip())
    )


def test_a_refusal_in_the_child_comes_back_as_the_same_refusal() -> None:
    with pytest.raises(ImportRefused) as refused:
        foreign_imports.read_bounded(b"[" * 65 + b"]" * 65)
    assert refused.value.key == "import_too_deep"
    assert refused.value.values == {"limit": 64}


def test_an_export_that_needs_more_memory_than_allowed_is_refused_as_too_big() -> None:
    data = exports.big_chatgpt_json(40, 200)  # about 8 MB
    small = foreign_imports.export_bounds(memory_bytes=24 * 1024 * 1024)
    with pytest.raises(ImportRefused) as refused:
        foreign_imports.read_bounded(data, small)
    assert refused.value.key == "import_too_big_inside"


def test_an_export_that_takes_longer_than_allowed_is_stopped() -> None:
    data = exports.big_chatgpt_json(40, 200)
    quick = foreign_imports.export_bounds(cpu_seconds=30, wall_seconds=0.05)
    with pytest.raises(ImportRefused) as refused:
        foreign_imports.read_bounded(data, quick)
    assert refused.value.key == "import_too_slow"


def test_a_content_type_of_the_wrong_type_leaves_the_message_out_as_other() -> None:
    conversation = exports.chatgpt_branched()
    conversation["mapping"]["a-2a"]["message"]["content"]["content_type"] = [
        "text"
    ]  # found by fuzzing
    conversation["mapping"]["u-2a"]["message"]["author"]["role"] = {"role": "user"}
    batch = read(exports.as_json([conversation]))
    texts = {m.text for m in batch.found[0].conversation.tree.values()}
    assert not texts & {"Make it cheaper", "Walk, and eat bifanas."}
    assert batch.tally.messages == {"hidden": 1, "damaged": 1, "other": 1}
