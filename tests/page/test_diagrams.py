"""Diagrams in a finished reply, through the page (AppTest): drawn beside their source, or
code when they do not pass the check. Their drawing in Chromium: tests/browser."""

from __future__ import annotations

import pytest

from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import fresh_session, send

pytestmark = pytest.mark.usefixtures("own_database", "configured")

FLOW = "flowchart LR\n    A[Вопрос] --> B[Ответ]"


def test_a_replys_diagram_is_drawn_with_its_source_one_click_away(configured: Emulator) -> None:
    configured.default = Behavior(reply=f"Схема:\n\n```mermaid\n{FLOW}\n```\n\nВсё.")
    at = send(fresh_session(), "Нарисуй")
    reply = at.chat_message[-1]
    shown = [md.value for md in reply.markdown]
    assert shown[:2] == ["Схема:", f"````mermaid\n{FLOW}\n````"]  # st.mermaid_chart's
    assert [e.label for e in reply.expander] == ["Source"]
    assert [code.value for code in reply.expander[0].code] == [FLOW]
    at.run()  # the history draws it the same way on the next run
    assert [e.label for e in at.chat_message[-1].expander] == ["Source"]


def test_a_block_of_no_known_type_stays_code_in_a_reply_and_in_a_question(
    configured: Emulator,
) -> None:
    configured.default = Behavior(reply="```mermaid\nnot a diagram at all\n```")
    at = send(fresh_session(), "```mermaid\ngraph TD\n  A-->B\n```")
    question, reply = at.chat_message[-2], at.chat_message[-1]
    assert len(reply.expander) == 0
    assert reply.markdown[0].value == "```text\nnot a diagram at all\n```"
    assert question.markdown[0].value == "```text\ngraph TD\n  A-->B\n```"
