"""The page as a person's browser shows it: a real `streamlit run app.py`, emulator and Chromium.

Each test opens its own browser context, so its own Streamlit session; the page process and
the emulator are shared. Replies are built here and handed to the emulator, so what the page
shows can be compared with exactly what the service sent.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import AUTH_CODE, ChatPage, ResponseLog, StreamlitServer, WebSocketLog, squash

pytestmark = pytest.mark.browser

MARKUP = '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2">'
QUIET_MS = 1500  # how long a stopped reply must stay as it is


def markdown_reply() -> tuple[str, str]:
    """A long markdown reply with Cyrillic, and the text a reader sees once it is rendered."""
    blocks = [("## Потоковый ответ", "Потоковый ответ")]
    for i in range(1, 11):
        words = f"Абзац {i} — это текст, где кириллица приходит целой, and ASCII too."
        blocks.append((words.replace("текст", "**текст**"), words))
    blocks += [
        ("- первый пункт\n- второй пункт\n- third item", "первый пункт второй пункт third item"),
        ("```python\nprint('привет, мир')\n```", "print('привет, мир')"),
        (
            "| Имя | Значение |\n|---|---|\n| альфа | 1 |\n| бета | 2 |",
            "Имя Значение альфа 1 бета 2",
        ),
        ("Конец ответа.", "Конец ответа."),
    ]
    return "\n\n".join(md for md, _ in blocks), " ".join(seen for _, seen in blocks)


def plain_reply(paragraphs: int = 40) -> str:
    """Paragraphs with no markdown syntax, so any prefix renders as exactly its own words."""
    sentences = [f"Строка {i} of a slow reply, написанная спокойно и медленно." for i in range(99)]
    return "\n\n".join(" ".join(sentences[i * 3 : i * 3 + 3]) for i in range(paragraphs))


def test_page_loads_without_error_and_shows_the_chat_input(chat: ChatPage, page: Page) -> None:
    errors: list[object] = []
    page.on("pageerror", lambda error: errors.append(error))

    chat.open()

    expect(page.locator('[data-testid="stChatInput"] textarea')).to_be_visible()
    expect(page.get_by_text("Ask anything.")).to_be_visible()
    expect(page.get_by_text("Connected · balance")).to_be_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert errors == []


def test_reply_streams_in_growing_and_ends_complete(chat: ChatPage, emulator: Emulator) -> None:
    reply, seen = markdown_reply()
    emulator.enqueue(Behavior(reply=reply, chunk_bytes=20, delay=0.03, split_multibyte=True))
    chat.open()

    index = chat.send("Расскажи подробно")
    chat.start_sampling(index, every_ms=25)
    final = chat.wait_for_reply(index)
    samples = chat.stop_sampling()

    partial_lengths = {length for _, length in samples if 0 < length < len(final)}
    assert len(partial_lengths) >= 3, f"the reply did not grow in steps: {samples}"
    chat.wait_until_reads(index, seen)  # its code block is drawn a moment after the run
    bubble = chat.messages.nth(index)
    assert bubble.locator("h2").count() == 1
    assert bubble.locator("li").count() == 3
    assert bubble.locator("pre").count() == 1
    assert bubble.locator("table").count() == 1


def test_stop_keeps_the_partial_reply_for_the_next_message(
    chat: ChatPage, emulator: Emulator
) -> None:
    full = plain_reply()
    emulator.enqueue(Behavior(reply=full, chunk_bytes=20, delay=0.03))  # ~14 s to stream whole
    chat.open()

    index = chat.send("Начни длинный ответ")
    chat.wait_for_text(index)
    chat.button(index, "Stop").click()
    chat.wait_for_button(index, "Continue")
    chat.wait_until_idle()
    partial = chat.text(index)

    assert partial
    assert squash(full).startswith(squash(partial))
    assert len(squash(partial)) < len(squash(full))
    expect(
        chat.messages.nth(index).get_by_text("Stopped. The text so far is kept.")
    ).to_be_visible()
    with pytest.raises(PlaywrightError, match="Timeout"):  # the text must not change any more
        chat.page.wait_for_function(
            "([i, was]) => window.__chatTest.text(i) !== was",
            arg=[index, partial],
            timeout=QUIET_MS,
        )

    emulator.enqueue(Behavior(reply="Хорошо, продолжим."))
    next_index = chat.send("Спасибо, дальше")
    chat.wait_for_reply(next_index)

    sent = emulator.chat_requests[-1].body["messages"]
    answers = [m["content"] for m in sent if m["role"] == "assistant"]
    assert len(answers) == 1
    assert full.startswith(answers[0])
    # What was sent is exactly what the page showed as stopped: the stopped run adds nothing.
    assert squash(answers[0]) == squash(partial)
    assert squash(chat.text(index)) == squash(answers[0])


def test_markup_in_a_message_and_a_reply_is_shown_as_text_not_run(
    chat: ChatPage, emulator: Emulator, page: Page
) -> None:
    emulator.enqueue(Behavior(reply=f"Ответ с разметкой {MARKUP} конец ответа", chunk_bytes=7))
    chat.open()

    index = chat.send(f"Проверка {MARKUP}")
    reply = chat.wait_for_reply(index)

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator('img[src="x"]').count() == 0
    assert not page.evaluate(
        "() => Array.from(document.scripts).some((s) => s.textContent.includes('__pwned'))"
    )
    assert "<script>window.__pwned=1</script>" in chat.text(index - 1)
    assert "конец ответа" in reply


def test_auth_code_reaches_no_frame_page_response_or_log(
    chat: ChatPage, emulator: Emulator, page: Page, page_server: StreamlitServer
) -> None:
    frames, responses = WebSocketLog(page), ResponseLog(page)
    marker = "Маркер-ответа-42"
    emulator.enqueue(Behavior(reply=f"Ответ {marker} готов.", chunk_bytes=9, delay=0.01))
    chat.open()

    index = chat.send("Какой у тебя код?")
    assert marker in chat.wait_for_reply(index)

    code = AUTH_CODE.encode()
    assert emulator.chat_requests[-1].headers["x-auth-code"] == AUTH_CODE  # the code was used
    assert any(marker.encode() in f.data for f in frames.received())  # the search can find text
    for frame in frames.frames:
        assert code not in frame.data, f"auth code in a websocket frame {frame.direction}"
        assert AUTH_CODE not in frame.data.decode(errors="ignore")
    assert AUTH_CODE not in page.content()
    bodies = responses.bodies()
    assert bodies, "no HTTP response was recorded"
    for url, body in bodies:
        assert code not in body, f"auth code in the response body of {url}"
    assert page_server.log_bytes(), "the page's log is empty: is it being captured?"
    assert code not in page_server.log_bytes()


def test_a_reply_renders_its_math_and_says_its_model_and_length(
    chat: ChatPage, emulator: Emulator
) -> None:
    reply = "Энергия: $E = mc^2$, и сумма:\n\n$$\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}$$\n"
    emulator.enqueue(Behavior(reply=reply, chunk_bytes=11))
    chat.open()
    index = chat.send("Формулы, пожалуйста")
    chat.wait_for_reply(index)
    bubble = chat.messages.nth(index)
    expect(bubble.locator(".katex").first).to_be_visible()  # typeset, not shown as $…$
    assert bubble.locator(".katex").count() >= 2
    expect(bubble.get_by_text(f"· {len(reply):,} characters")).to_be_visible()


def test_copy_puts_the_replys_markdown_on_the_clipboard_in_one_click(
    chat: ChatPage, page: Page, emulator: Emulator
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    reply = "Вот код:\n\n```python\nprint('привет')\n```\n\nИ **жирный** текст."
    emulator.enqueue(Behavior(reply=reply, chunk_bytes=9))
    chat.open()
    index = chat.send("Покажи код")
    chat.wait_for_reply(index)
    bubble = chat.messages.nth(index)
    bubble.get_by_role("button", name="Copy", exact=True).click()
    expect(bubble.get_by_role("button", name="Copy", exact=True)).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == reply  # the markdown
    code = bubble.locator('[data-testid="stCode"]').first
    code.hover()  # each code block has Streamlit's own copy button
    expect(code.get_by_role("button").first).to_be_visible()
