"""Images in what the page shows become links: the browser fetches nothing until a click; and
a Mermaid block is code (Streamlit's markdown would draw it, unchecked)."""

from __future__ import annotations

import pytest

from chatpage.views.safe_markdown import ICON, FenceGuard, StreamGuard, diagrams_as_code, safe

LEAK = "http://elsewhere.test/p.png?leak=secret"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"![t]({LEAK})", f"{ICON}[t]({LEAK})"),
        (f'![t]({LEAK} "title")', f'{ICON}[t]({LEAK} "title")'),
        (f"![t](<{LEAK}>)", f"{ICON}[t](<{LEAK}>)"),
        ("![](http://e.test/x.png)", f"{ICON}[http\\://e\\.test/x\\.png](http://e.test/x.png)"),
        (f"![t][r]\n\n[r]: {LEAK}", f"\\![t][r]\n\n[r]: {LEAK}"),
        ("![shortcut]", "\\![shortcut]"),
        (f"![t]({LEAK}", f"{ICON}[t]({LEAK}"),  # not complete (a reply being written)
        (f"[![inner]({LEAK})](http://l.test)", f"[{ICON}[inner]({LEAK})](http://l.test)"),
        (f"> - ![t]({LEAK})", f"> - {ICON}[t]({LEAK})"),
        (f"| a |\n|---|\n| ![t]({LEAK}) |", f"| a |\n|---|\n| {ICON}[t]({LEAK}) |"),
    ],
)
def test_an_image_becomes_a_link_to_its_address(text: str, shown: str) -> None:
    assert safe(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "plain text, no image",
        "`![code](span)` and ``![two](ticks)``",
        "```js\nif (![1].includes(x)) {}\n```",
        "~~~\n![fenced](tilde)\n~~~",
        "\\![escaped](not an image)",
        "> ```\n> ![quoted](fence)\n> ```",
    ],
)
def test_code_and_text_without_images_are_left_as_they_are(text: str) -> None:
    assert safe(text) == text


def test_a_backtick_in_an_autolink_opens_no_code_span_that_would_hide_an_image() -> None:
    text = f"<http://x.test/`>![t]({LEAK})`"
    assert safe(text) == f"<http://x.test/`>{ICON}[t]({LEAK})`"


def test_an_unclosed_backtick_hides_nothing() -> None:
    assert safe(f"a ` b ![t]({LEAK})") == f"a ` b {ICON}[t]({LEAK})"


def test_a_code_span_does_not_reach_across_a_blank_line() -> None:
    text = f"a `b\n\n![t]({LEAK}) `c"
    assert safe(text) == f"a `b\n\n{ICON}[t]({LEAK}) `c"


@pytest.mark.parametrize("cut", range(1, 12))
def test_streamed_text_never_holds_an_image_wherever_it_is_cut(cut: int) -> None:
    text = f"ok ![t]({LEAK}) and \\![not]({LEAK}) ![u]({LEAK})!"
    guard = StreamGuard()
    pieces = [text[i : i + cut] for i in range(0, len(text), cut)]
    streamed = "".join(guard.feed(piece) for piece in pieces) + guard.flush()
    assert streamed == f"ok \\![t]({LEAK}) and \\![not]({LEAK}) \\![u]({LEAK})!"
    shown = ""
    guard = StreamGuard()
    for piece in pieces:  # what the page shows at each moment has no image either
        shown += guard.feed(piece)
        assert "![" not in shown.replace("\\![", "")


MERMAID = (
    "Схема:\n\n```mermaid\ngraph TD\n  A-->B\n```\n\n- item\n  ~~~ Mermaid title\n  x\n  ~~~\n"
    "> ```mermaid\n> graph LR\n> ```\n````markdown\n```mermaid\n````\n```python\nmermaid = 1\n```\n"
)
AS_CODE = (
    "Схема:\n\n```text\ngraph TD\n  A-->B\n```\n\n- item\n  ~~~ text\n  x\n  ~~~\n"
    "> ```text\n> graph LR\n> ```\n````markdown\n```text\n````\n```python\nmermaid = 1\n```\n"
)


def test_every_fence_naming_mermaid_becomes_plain_code_in_lists_and_quotes_too() -> None:
    assert safe(MERMAID) == AS_CODE
    assert diagrams_as_code("no diagrams here") == "no diagrams here"


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 7, 11, 64])
def test_streamed_text_never_opens_a_mermaid_block_wherever_it_is_cut(cut: int) -> None:
    guard = FenceGuard()
    pieces = [MERMAID[i : i + cut] for i in range(0, len(MERMAID), cut)]
    shown = ""
    for piece in pieces:  # what the page shows at each moment names no Mermaid fence
        shown += guard.feed(piece)
        assert "```mermaid" not in shown.lower()
        assert "~~~ mermaid" not in shown.lower()
    assert shown + guard.flush() == AS_CODE


def test_a_line_that_cannot_be_a_fence_is_not_held_back() -> None:
    guard = FenceGuard()
    assert guard.feed("Первая строка, ") == "Первая строка, "
    assert guard.feed("её ``конец``\n") == "её ``конец``\n"  # mid-line: no fence
    assert guard.feed("``") == ""  # a line's start that may become a fence waits for its end
    assert guard.feed("`mermaid\n") == "```text\n"


def test_a_long_line_of_list_marks_or_digits_is_not_held_back_past_a_bound() -> None:
    guard = FenceGuard()
    assert guard.feed("1" * 100) == ""  # may still be a list item's fence
    assert guard.feed("2" * 300) == "1" * 100 + "2" * 300
