"""Files attached to a message: read as text, fenced for the model, or refused with a reason."""

from __future__ import annotations

import codecs
import io
import json
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatpage.access.limits import CONTROL_CHARS, message_problem
from chatpage.data.attachments import (
    FILES_MAX_COUNT,
    UNPACKED_MAX_BYTES,
    UNPACKED_MAX_RATIO,
    UNPACKED_MIN_BYTES,
    FileRefused,
    Upload,
    read,
    read_all,
    unpacked_bound,
)
from chatpage.data.conversation import Attachment, Conversation, ErrorInfo, fenced, wire_text
from chatpage.data.export import ImportRefused, from_json, to_json, to_markdown
from chatpage.data.failures import explain
from testkit.files import PNG_HEADER, docx_with, pdf_with_text
from testkit.fuzzing import fuzz_settings

PANGRAM = (
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Широкая электрификация "
    "южных губерний даст мощный толчок подъёму сельского хозяйства."
)


def refusal(upload: Upload, **kwargs: int) -> str:
    with pytest.raises(FileRefused) as refused:
        read(upload, **kwargs)
    return refused.value.error.kind


@pytest.mark.parametrize(
    "encoded",
    [
        PANGRAM.encode("utf-8"),
        codecs.BOM_UTF8 + PANGRAM.encode("utf-8"),
        PANGRAM.encode("utf-16"),  # with its byte-order mark, either order
        PANGRAM.encode("utf-16-be").join([codecs.BOM_UTF16_BE, b""]),
        PANGRAM.encode("utf-32"),
        PANGRAM.encode("cp1251"),  # no mark: the encoding is detected
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-32-bom", "cp1251"],
)
def test_a_text_file_is_read_in_its_encoding(encoded: bytes) -> None:
    attachment = read(Upload("notes.txt", encoded))
    assert attachment == Attachment(name="notes.txt", size=len(encoded), text=PANGRAM)


def test_a_pdf_gives_the_text_of_its_pages() -> None:
    data = pdf_with_text("First page words", "Second page words")
    attachment = read(Upload("report.pdf", data, "application/pdf"))
    assert attachment.text == "First page words\n\nSecond page words"
    assert attachment.size == len(data)


def test_a_docx_gives_its_paragraphs_and_tables() -> None:
    data = docx_with(["Привет из Word", "Second paragraph"], [["name", "size"], ["a", "1"]])
    text = read(Upload("letter.docx", data)).text
    assert text == "Привет из Word\nSecond paragraph\nname\tsize\na\t1"


def test_a_docx_gives_paragraphs_and_tables_in_the_order_of_the_document() -> None:
    data = docx_with(["Before the table"], [["name", "size"]], after=("After the table",))
    text = read(Upload("letter.docx", data)).text
    assert text == "Before the table\nname\tsize\nAfter the table"


@pytest.mark.parametrize(
    ("upload", "kind"),
    [
        (Upload("photo.png", PNG_HEADER + b"\x00" * 64), "file_image"),
        (Upload("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64, "image/jpeg"), "file_image"),
        (Upload("renamed.txt", PNG_HEADER + b"\x00" * 64), "file_image"),  # by its bytes
        (Upload("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "file_image"),
        (Upload("program.exe", b"MZ\x90\x00\x03\x00\x00\x00" * 64), "file_binary"),
        (Upload("broken.pdf", b"%PDF-1.4\nnot really a pdf"), "file_unreadable"),
        (Upload("scan.pdf", pdf_with_text("")), "file_unreadable"),  # no text to extract
        (Upload("broken.docx", b"PK\x03\x04 not a zip"), "file_unreadable"),
    ],
    ids=["png", "jpeg-by-type", "png-by-bytes", "svg", "binary", "bad-pdf", "scan", "bad-docx"],
)
def test_a_file_that_cannot_be_sent_is_refused_with_its_reason(upload: Upload, kind: str) -> None:
    assert refusal(upload) == kind


def test_a_file_past_the_bound_is_refused_by_its_size_without_being_read() -> None:
    measured = Upload("big.txt", b"", size=20 * 1024 * 1024)  # too big: never copied
    with pytest.raises(FileRefused) as refused:
        read(measured, max_bytes=2 * 1024 * 1024)
    error = refused.value.error
    assert (error.kind, error.size, error.limit) == ("file_too_big", 20 * 1024**2, 2 * 1024**2)
    assert refusal(Upload("just.txt", b"x" * 11), max_bytes=10) == "file_too_big"
    assert read(Upload("just.txt", b"x" * 10), max_bytes=10).text == "x" * 10


def test_a_docx_that_unpacks_to_far_more_than_its_size_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<" + b" " * 5_000_000)
    assert refusal(Upload("bomb.docx", out.getvalue())) == "file_unpacks_too_big"


def test_the_unpack_bound_follows_the_files_own_size_within_a_cap() -> None:
    assert unpacked_bound(100 * 1024) == 100 * 1024 * UNPACKED_MAX_RATIO
    assert unpacked_bound(1024) == UNPACKED_MIN_BYTES  # python-docx's empty one unpacks to 0.8 MB
    assert unpacked_bound(32 * 1024 * 1024) == UNPACKED_MAX_BYTES


def test_more_files_than_allowed_are_refused_together() -> None:
    with pytest.raises(FileRefused) as refused:
        read_all([Upload(f"{i}.txt", b"x") for i in range(FILES_MAX_COUNT + 1)])
    assert refused.value.error.kind == "file_count"


def test_stray_control_characters_are_dropped_but_nul_means_binary() -> None:
    assert read(Upload("old.c", b"int x;\x0c\nint y;\n")).text == "int x;\nint y;\n"
    assert refusal(Upload("nul.txt", b"text\x00more")) == "file_binary"


def test_a_name_is_kept_to_its_last_part_and_cannot_end_the_fence() -> None:
    attachment = read(Upload("../..\\etc/``odd\u202ename``.py", b"print(1)"))
    assert attachment.name == "oddname.py"  # no path, no backticks, no bidi control


def test_a_fence_is_longer_than_any_backtick_run_in_the_file() -> None:
    text = "before\n````\ninside\n````\nafter"
    block = fenced(Attachment("readme.md", 30, text))
    assert block.startswith("`````readme.md\n")
    assert block.endswith("\n`````")
    assert text in block


def test_the_wire_carries_each_file_fenced_after_the_typed_text() -> None:
    conversation = Conversation(model_id="m")
    files = (Attachment("a.py", 8, "print(1)"), Attachment("b.txt", 2, "hi"))
    conversation.add_user("Review these", files)
    assert conversation.wire_messages() == [
        {"role": "user", "content": "Review these\n\n```a.py\nprint(1)\n```\n\n```b.txt\nhi\n```"}
    ]


def test_an_edit_keeps_the_files_of_the_question_it_replaces() -> None:
    conversation = Conversation(model_id="m")
    files = (Attachment("a.py", 8, "print(1)"),)
    first = conversation.add_user("What does this print?", files)
    edited = conversation.edit(first.id, "What does this do?")
    assert edited.attachments == files
    assert conversation.siblings(edited) == [first, edited]


def test_only_files_and_no_text_is_a_message_and_the_title_names_them() -> None:
    files = (Attachment("notes.txt", 5, "hello"),)
    assert message_problem("", 1000, files) is None
    assert message_problem("", 1000) is not None
    conversation = Conversation(model_id="m")
    conversation.add_user("", files)
    assert conversation.display_title == "notes.txt"


def test_files_that_make_the_message_too_long_are_refused_with_its_length() -> None:
    files = (Attachment("long.txt", 100, "x" * 100),)
    problem = message_problem("see", 50, files)
    assert problem is not None
    assert problem.kind == "files_too_long"
    assert problem.size == len(wire_text("see", files))


def test_the_json_export_keeps_files_and_imports_them_back() -> None:
    conversation = Conversation(model_id="m")
    conversation.add_user("look", (Attachment("a.py", 8, "print(1)"),))
    exported = to_json(conversation)
    again = from_json(exported.encode())
    assert again.messages[0].attachments == conversation.messages[0].attachments
    assert to_json(again) == exported
    assert "```a.py\nprint(1)\n```" in to_markdown(conversation, "en")


@pytest.mark.parametrize(
    "bad",
    [
        "a list, not this",
        [{"name": "a.py", "size": "8", "text": "x"}],
        [{"name": "", "size": 1, "text": "x"}],
        [{"name": "a`b", "size": 1, "text": "x"}],
        [{"name": "a.py", "size": True, "text": "x"}],
        [{"name": "a.py", "size": 1, "text": "x"}] * 11,
    ],
)
def test_an_import_with_damaged_files_is_refused(bad: object) -> None:
    conversation = Conversation(model_id="m")
    conversation.add_user("look")
    document = json.loads(to_json(conversation))
    document["conversation"]["messages"][0]["attachments"] = bad
    with pytest.raises(ImportRefused):
        from_json(json.dumps(document).encode())


def test_an_import_takes_files_with_control_characters_without_them() -> None:
    conversation = Conversation(model_id="m")
    conversation.add_user("look")
    document = json.loads(to_json(conversation))
    files = [{"name": "a\x1b.py", "size": 1, "text": "nul\x00 esc\x1b[0m ff\x0c end"}]
    document["conversation"]["messages"][0]["attachments"] = files
    imported = from_json(json.dumps(document).encode())
    assert imported.messages[0].attachments == (Attachment("a.py", 1, "nul esc[0m ff end"),)


@pytest.mark.parametrize(
    "kind",
    [
        "file_too_big",
        "file_image",
        "file_binary",
        "file_unreadable",
        "file_count",
        "file_too_slow",
        "file_too_big_inside",
        "file_too_many_pages",
        "file_unpacks_too_big",
        "file_text_too_long",
        "file_reading_busy",
    ],
)
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_refusal_reads_in_both_languages(kind: str, lang: str) -> None:
    level, words = explain(ErrorInfo(kind, limit=2 * 1024 * 1024, size=20 * 1024**2), lang)
    assert level == "warning"
    assert "{" not in words
    assert words != explain(ErrorInfo("unknown"), lang)[1]
    if kind in ("file_too_big", "file_unpacks_too_big"):
        assert "20.0 MB" in words
        assert "2.0 MB" in words


GOOD_FILES = [PANGRAM.encode("utf-16"), pdf_with_text("Some words"), docx_with(["Some words"])]


@st.composite
def damaged_files(draw: st.DrawFn) -> bytes:
    """A good file of some kind with bytes changed, cut short, or any bytes at all."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2000))
    data = bytearray(draw(st.sampled_from(GOOD_FILES)))
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(1, len(data)))])


@fuzz_settings(150)
@given(
    data=damaged_files(),
    name=st.sampled_from(["a.txt", "a.pdf", "a.docx", "a", "a.png", "a.py"]),
)
def test_any_file_is_read_as_clean_text_or_refused_with_a_reason(data: bytes, name: str) -> None:
    outcome = _read_or_refusal(Upload(name, data))
    if isinstance(outcome, ErrorInfo):
        kinds = ("file_binary", "file_unreadable", "file_image", "file_unpacks_too_big")
        assert outcome.kind in kinds
    else:
        assert not CONTROL_CHARS.search(outcome.text)  # storable anywhere, sendable as is


def _read_or_refusal(upload: Upload) -> Attachment | ErrorInfo:
    try:
        return read(upload)
    except FileRefused as refused:
        return refused.error
