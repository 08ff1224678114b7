"""Which ```mermaid blocks of a finished reply are drawn, and which stay code."""

from __future__ import annotations

import pytest

from chatpage.replies.diagrams import MAX_CHARS, MAX_DIAGRAMS, Diagram, drawable, pieces

FLOW = "flowchart LR\n    A[Вопрос] --> B{Ответ?}\n    B -->|да| C[Готово]"


def test_a_reply_is_cut_at_its_diagrams_and_the_rest_stays_markdown() -> None:
    text = f"Вот схема:\n\n```mermaid\n{FLOW}\n```\n\nИ ещё **текст**.\n"
    assert pieces(text) == ["Вот схема:\n\n", Diagram(FLOW), "\nИ ещё **текст**.\n"]


@pytest.mark.parametrize(
    "source",
    [
        "sequenceDiagram\n    Alice->>Bob: Привет",
        "%% a comment first\n%%{init: {'theme': 'forest'}}%%\ngraph TD\n  A-->B",
        "---\ntitle: С заголовком\n---\nstateDiagram-v2\n  [*] --> Still",
        '\n\npie title Pets\n  "Dogs" : 386',
    ],
)
def test_a_block_of_a_known_type_is_drawn(source: str) -> None:
    assert drawable(source)


@pytest.mark.parametrize(
    "source",
    [
        "",
        "graphs TD\n  A-->B",  # no such type
        "flowchart-elk TD\n A-->B",  # a layout plug-in Streamlit does not load
        "zenuml\n  A.method()",  # an external diagram type
        "Here is a diagram: graph TD",
        "---\ntitle: never closed\ngraph TD\n A-->B",
        "graph TD\n  A[\x1b[31m] --> B",  # control characters
        "graph TD\n" + "  A --> B\n" * (MAX_CHARS // 9),  # too big
    ],
)
def test_a_block_that_does_not_pass_the_check_stays_code(source: str) -> None:
    assert not drawable(source)
    text = f"```mermaid\n{source}\n```\n"
    assert pieces(text) == [text]


def test_an_unclosed_indented_or_other_block_stays_text() -> None:
    unclosed = f"```mermaid\n{FLOW}\n"
    indented = f"- a list\n  ```mermaid\n  {FLOW}\n  ```\n"
    python = f"```python\n{FLOW}\n```\n"
    for text in (unclosed, indented, python):
        assert pieces(text) == [text]


def test_a_mermaid_block_inside_another_code_block_is_not_drawn() -> None:
    text = f"````markdown\n```mermaid\n{FLOW}\n```\n````\n"
    assert pieces(text) == [text]


def test_at_most_so_many_diagrams_a_reply_are_drawn() -> None:
    block = f"```mermaid\n{FLOW}\n```\n"
    parts = pieces(block * (MAX_DIAGRAMS + 2))
    assert sum(isinstance(part, Diagram) for part in parts) == MAX_DIAGRAMS
    assert parts[-1] == block * 2
