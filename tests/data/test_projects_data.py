"""A project's prompt within the model's budget, and a project in an export file."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatpage.data.conversation import Conversation, Message
from chatpage.data.export import from_json, to_json
from chatpage.data.project_export import project_from, to_json_with_project
from chatpage.data.project_prompt import (
    CUT_MARK,
    FILES_HEADING,
    FILES_MAX,
    REFERENCE_SHARE,
    Project,
    ReferenceFile,
    project_prompt,
)
from chatpage.i18n import t


def file(name: str, text: str) -> ReferenceFile:
    return ReferenceFile(name, name, len(text.encode()), text)


def test_instructions_come_before_the_conversations_own_prompt_then_the_files() -> None:
    prompt, cut = project_prompt(
        "Answer in French.",
        "Be brief.",
        [file("a.txt", "alpha"), file("b.md", "beta")],
        max_length=12_000,
        question_chars=10,
    )
    assert prompt == (
        f"Answer in French.\n\nBe brief.\n\n{FILES_HEADING}\n\n"
        "```a.txt\nalpha\n```\n\n```b.md\nbeta\n```"
    )
    assert cut is None


def test_without_files_or_instructions_the_conversations_prompt_goes_alone() -> None:
    assert project_prompt("", "Be brief.", [], max_length=100, question_chars=5) == (
        "Be brief.",
        None,
    )


def test_files_past_their_share_of_the_budget_are_cut_at_the_end_and_said() -> None:
    files = [file("first.txt", "a" * 3000), file("second.txt", "b" * 3000), file("c.txt", "c")]
    prompt, cut = project_prompt("Rules.", "", files, max_length=8000, question_chars=1000)
    assert len(prompt) <= len("Rules.") + (8000 - len("Rules.") - 1000) * REFERENCE_SHARE
    assert "a" * 3000 in prompt  # the first whole
    assert CUT_MARK in prompt  # the second cut short, marked
    assert "```c.txt" not in prompt  # the third left out
    assert cut is not None
    assert cut.total_chars == 6001
    assert 3000 < cut.sent_chars < 6000
    assert prompt.count("b") == cut.sent_chars - 3000


@given(
    texts=st.lists(st.text(max_size=3000), max_size=FILES_MAX),
    max_length=st.integers(min_value=0, max_value=20_000),
    question=st.integers(min_value=0, max_value=20_000),
)
@settings(max_examples=200, deadline=None)
def test_files_never_take_more_than_their_share(
    texts: list[str], max_length: int, question: int
) -> None:
    files = [file(f"f{n}.txt", text) for n, text in enumerate(texts)]
    prompt, cut = project_prompt("", "", files, max_length=max_length, question_chars=question)
    share = max(0, (max_length - question) * REFERENCE_SHARE)
    # A fence grows past three backticks only for a text holding a run as long.
    assert len(prompt) <= share + 2 * sum(text.count("`") for text in texts)
    if cut is None:
        assert all(text in prompt for text in texts)
    else:
        assert cut.sent_chars < cut.total_chars == sum(map(len, texts))


def test_the_note_says_how_much_went_in_both_languages() -> None:
    assert "6,000 of their 20,000 characters" in t(
        "en", "references_cut_note", sent=6000, total=20000
    )
    assert "отправлено 6" in t("ru", "references_cut_note", sent=6000, total=20000)


def chat() -> Conversation:
    conversation = Conversation(model_id="gpt-4", title="Notes")
    conversation.add_user("Hi")
    conversation.append(Message("assistant", "Hello"))
    return conversation


def test_an_export_with_a_project_still_reads_as_the_same_conversation() -> None:
    conversation = chat()
    project = Project("p", "Research", "Cite sources.")
    exported = to_json_with_project(conversation, project, [file("n.md", "# N")])
    assert from_json(exported.encode()).messages[0].text == "Hi"
    assert project_from(exported.encode()).files == (("n.md", 3, "# N"),)  # type: ignore[union-attr]
    assert project_from(to_json(conversation).encode()) is None  # an old export: no project


@pytest.mark.parametrize(
    "damaged",
    [
        {"name": ""},
        {"name": 5},
        {"name": "ok", "instructions": ["x"]},
        {"name": "ok", "files": "x"},
        {"name": "ok", "files": [{"name": "a", "size": -1, "text": ""}]},
        {"name": "ok", "files": [{"name": "a", "size": True, "text": ""}]},
        {"name": "ok", "files": [{"name": "a", "size": 1}] * (FILES_MAX + 1)},
        {"name": "ok", "files": [{"name": "a", "size": 1, "text": "x" * 600_000}]},
        "a string",
    ],
)
def test_a_damaged_project_is_dropped_and_the_conversation_still_imports(damaged: object) -> None:
    document = json.loads(to_json(chat()))
    document["project"] = damaged
    data = json.dumps(document).encode()
    assert project_from(data) is None
    assert from_json(data).title == "Notes"


def test_control_characters_leave_an_imported_projects_words() -> None:
    document = json.loads(to_json(chat()))
    document["project"] = {
        "name": "Re\x1bsearch",
        "instructions": "Be\x00 kind",
        "files": [{"name": "a\x07.txt", "size": 1, "text": "x\x1b[31m"}],
    }
    read = project_from(json.dumps(document).encode())
    assert read is not None
    assert (read.name, read.instructions, read.files) == (
        "Research",
        "Be kind",
        (("a.txt", 1, "x[31m"),),
    )
