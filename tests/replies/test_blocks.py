"""The block splitter cuts a streaming reply into bounded pieces without losing a character."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chatpage.replies.blocks import FREEZE, BlockSplitter, Reopen, display_updates

LINES = st.sampled_from(
    [
        "Plain text line.",
        "",
        "```python",
        "```",
        "~~~",
        "print('Привет')",
        "| a | b |",
        "|---|---|",
        "| 1 | 2 |",
        "- item",
        "1. first",
        "    indented",
        "# Heading 你好 👋",
    ]
)
markdown = st.lists(LINES, max_size=60).map("\n".join)
cuts = st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=30)


def run(splitter: BlockSplitter, text: str, sizes: list[int]) -> list[object]:
    ops: list[object] = []
    start, i = 0, 0
    while start < len(text):
        size = sizes[i % len(sizes)]
        ops += splitter.feed(text[start : start + size])
        start += size
        i += 1
    return ops


def pieces(ops: list[object]) -> list[str]:
    out = [""]
    for op in ops:
        if op is FREEZE:
            out.append("")
        else:
            out[-1] += op  # type: ignore[operator]
    return out


@settings(max_examples=300)
@given(markdown, cuts, st.integers(min_value=20, max_value=400))
def test_reply_text_survives_splitting_exactly(text: str, sizes: list[int], limit: int) -> None:
    ops = run(BlockSplitter(max_piece=limit), text, sizes)
    assert "".join(op for op in ops if type(op) is str) == text


@settings(max_examples=300)
@given(markdown, cuts, st.integers(min_value=20, max_value=400))
def test_every_piece_stays_near_the_limit(text: str, sizes: list[int], limit: int) -> None:
    longest_line = max((len(line) + 1 for line in text.split("\n")), default=0)
    for piece in pieces(run(BlockSplitter(max_piece=limit), text, sizes)):
        assert len(piece) <= limit + 2 * longest_line + 40


def test_paragraphs_are_frozen_at_blank_lines() -> None:
    ops = BlockSplitter().feed("First paragraph.\n\nSecond")
    assert ops == ["First paragraph.\n\n", FREEZE, "Second"]


def test_code_block_is_one_piece_until_its_closing_fence() -> None:
    text = "```python\nx = 1\n\ny = 2\n```\nafter"
    assert pieces(BlockSplitter().feed(text)) == ["```python\nx = 1\n\ny = 2\n```\n", "after"]


def test_long_code_block_is_cut_and_reopened_with_its_fence() -> None:
    code = "".join(f"line_{i} = {i}\n" for i in range(40))
    ops = BlockSplitter(max_piece=100).feed("```python\n" + code + "```\n")
    shown = pieces(ops)
    assert len(shown) > 3
    assert all(piece.startswith("```python\n") for piece in shown[1:-1])
    assert any(isinstance(op, Reopen) for op in ops)


def test_long_table_is_cut_and_keeps_its_header() -> None:
    rows = "".join(f"| {i} | {i * i} |\n" for i in range(30))
    shown = pieces(BlockSplitter(max_piece=60).feed("| n | n² |\n|---|---|\n" + rows))
    assert all(piece.startswith("| n | n² |\n|---|---|\n") for piece in shown if piece)


def test_tilde_fence_is_not_closed_by_backticks() -> None:
    ops = BlockSplitter().feed("~~~\n```\nstill code\n\n~~~\n")
    assert pieces(ops) == ["~~~\n```\nstill code\n\n~~~\n", ""]


def test_display_updates_join_text_and_reopened_text_between_freezes() -> None:
    assert display_updates(["a", Reopen("```\n"), "b", FREEZE, "c"]) == ["a```\nb", FREEZE, "c"]
