"""Files attached in the chat input, through AppTest: sent fenced, shown as chips, or refused."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from chatpage import session
from chatpage.data.conversation import Attachment
from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import conversation, fresh_session, page_text
from testkit.files import PNG_HEADER, pdf_with_text

pytestmark = pytest.mark.usefixtures("own_database")
CODE = "def greet():\n    return 'Привет'\n"


def attach(at: AppTest, text: str, *files: tuple[str, bytes]) -> AppTest:
    widget = at.chat_input[0]
    for name, data in files:
        widget.upload(name, data)
    widget.set_value(text).run()
    assert not at.exception, at.exception
    return at


def test_an_attached_file_reaches_upstream_fenced_and_shows_as_a_chip(
    configured: Emulator,
) -> None:
    configured.default = Behavior(reply="It greets.")
    at = attach(fresh_session(), "What does this do?", ("greet.py", CODE.encode()))
    question = configured.chat_requests[-1].body["messages"][-1]
    assert question == {
        "role": "user",
        "content": f"What does this do?\n\n```greet.py\n{CODE}\n```",
    }
    sent = conversation(at).messages[0]
    assert sent.text == "What does this do?"
    assert sent.attachments == (Attachment("greet.py", len(CODE.encode()), CODE),)
    chips = [md.value for md in at.chat_message[0].markdown if "badge[" in md.value]
    size = len(CODE.encode())
    assert chips == [f":gray-badge[:material/attach_file: greet\\.py · {size} B]"]
    assert "return 'Привет'" not in page_text(at)  # a chip, not the file's text


def test_a_pdf_goes_as_its_text_and_a_file_alone_is_a_message(configured: Emulator) -> None:
    attach(fresh_session(), "", ("report.pdf", pdf_with_text("Quarterly numbers")))
    question = configured.chat_requests[-1].body["messages"][-1]["content"]
    assert question == "```report.pdf\nQuarterly numbers\n```"


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("big.txt", b"x" * 2049, "too big (2.0 KB; files up to 2.0 KB"),
        ("photo.png", PNG_HEADER + b"\x00" * 32, "models on this page read text only"),
        ("tool.bin", b"\x00\x01\x02" * 100, "not text"),
    ],
    ids=["too-big", "image", "binary"],
)
def test_a_file_that_cannot_be_sent_sends_nothing_and_keeps_the_text(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes, words: str
) -> None:
    monkeypatch.setenv("CHAT_MAX_FILE_BYTES", "2048")
    at = attach(fresh_session(), "Please read this", (name, data))
    assert any(words in w.value for w in at.warning), [w.value for w in at.warning]
    assert configured.chat_requests == []
    assert conversation(at).messages == []
    assert at.chat_input[0].value == "Please read this"  # given back; the file must be again


def unchecked(*_args: object, **_kwargs: object) -> None:
    """Stands for the check Streamlit cut short: a re-run arriving while it runs replays
    the submission to the next run without calling the check again."""


def test_a_message_whose_check_was_cut_short_is_refused_before_it_is_sent(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_MAX_FILE_BYTES", "2048")
    monkeypatch.setattr(session, "check_submitted", unchecked)
    at = attach(fresh_session(), "Please read this", ("big.txt", b"x" * 2049))
    assert configured.chat_requests == []
    assert conversation(at).messages == []
    assert any("too big" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.chat_input[0].value == "Please read this"  # given back, as by the check


def test_a_message_whose_check_was_cut_short_still_goes_with_its_files(
    configured: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured.default = Behavior(reply="It greets.")
    monkeypatch.setattr(session, "check_submitted", unchecked)
    attach(fresh_session(), "What does this do?", ("greet.py", CODE.encode()))
    question = configured.chat_requests[-1].body["messages"][-1]["content"]
    assert question == f"What does this do?\n\n```greet.py\n{CODE}\n```"


def test_an_edited_question_goes_again_with_its_files_even_with_no_text(
    configured: Emulator,
) -> None:
    at = attach(fresh_session(), "Explain this", ("greet.py", CODE.encode()))
    first = conversation(at).messages[0]
    at.button(key=f"edit_{first.id}").click().run()
    at.text_area(key="edit_text").set_value("").run()
    at.button[[b.label for b in at.button].index("Save and send")].click().run()
    assert not at.exception, at.exception
    assert configured.chat_requests[-1].body["messages"] == [
        {"role": "user", "content": f"```greet.py\n{CODE}\n```"}
    ]
    edited = conversation(at).messages[0]
    assert edited.id != first.id
    assert edited.attachments == first.attachments
    assert [m.id for m in conversation(at).siblings(edited)] == [first.id, edited.id]
