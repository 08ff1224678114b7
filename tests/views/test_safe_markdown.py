"""Images in what the page shows become links: the browser fetches nothing until a click."""

from __future__ import annotations

import pytest

from chatpage.views.safe_markdown import ICON, StreamGuard, safe

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
