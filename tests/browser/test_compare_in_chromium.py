"""Compare models in Chromium (issue 27): one message to two models gives two replies streaming
at the same time, side by side; choosing the second continues with it, and the first is kept
as a version.

Each column's text is sampled in the page itself (every 50 ms) while both are written, so "at
the same time" is what a person's screen showed, not what the server meant to send.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from chatpage.access.identity import LOCAL_OWNER
from chatpage.database.conversations import ConversationStore
from liaobots_core.emulator import Behavior, Emulator

from .conftest import ChatPage, StreamlitServer

pytestmark = pytest.mark.browser

WAIT_MS = 60_000
FIRST, SECOND = "gpt-3.5-turbo", "gpt-4"
PICK = "Continue with this one"

# Each column's text (its markdown, nothing left from an old run) and whether it has a Stop.
_COLUMNS = """() => [0, 1].map((i) => {
  const column = document.querySelector(`.st-key-compared_${i}`);
  if (!column) return [0, false];
  const text = column.querySelector(`.st-key-compared_text_${i}`);
  const live = Array.from(text ? text.querySelectorAll('[data-testid="stMarkdown"]') : [])
    .filter((m) => !m.closest('[data-stale="true"]'));
  const stop = Array.from(column.querySelectorAll('button'))
    .some((b) => b.innerText.includes('Stop') && !b.closest('[data-stale="true"]'));
  return [live.map((m) => m.innerText).join('\\n').length, stop];
})"""

_SAMPLE = f"""() => {{
  window.__compare = [];
  const started = performance.now();
  window.__compareTimer = setInterval(() => {{
    window.__compare.push([performance.now() - started, ...({_COLUMNS})().flat()]);
  }}, 50);
}}"""


def _wait_for_columns(page: Page, condition: str, what: str) -> None:
    """Wait until `condition` holds of the page; if it never does, say what the columns
    showed instead (text length and Stop of each): CI keeps only the printed output."""
    try:
        page.wait_for_function(condition, timeout=WAIT_MS)
    except PlaywrightTimeout:
        shown = page.evaluate(_COLUMNS)
        pytest.fail(f"never {what}: the columns showed [length, Stop] = {shown}")


def paragraphs(name: str, count: int = 12) -> str:
    """Plain text (no markdown syntax), so what shows is the text itself."""
    return "\n\n".join(f"{name} writes paragraph {i} of its answer, slowly." for i in range(count))


def test_two_models_stream_side_by_side_and_the_second_picked_goes_on(
    chat: ChatPage, page: Page, emulator: Emulator, page_server: StreamlitServer
) -> None:
    # About four seconds each, in small pieces: long enough to see both grow together.
    emulator.by_model[FIRST] = Behavior(reply=paragraphs("First"), chunk_bytes=12, delay=0.08)
    emulator.by_model[SECOND] = Behavior(reply=paragraphs("Second"), chunk_bytes=12, delay=0.08)
    chat.open()
    bar = page.locator(".st-key-model_bar")
    bar.get_by_text("Compare", exact=True).click()
    expect(bar.get_by_text("GPT-4 · OpenAI")).to_be_visible(timeout=WAIT_MS)  # preselected
    chat.wait_until_idle()

    chat.send("Two models, one question")
    page.wait_for_function(
        f"() => ({_COLUMNS})().every(([length, stop]) => length > 0 && stop)", timeout=WAIT_MS
    )
    page.evaluate(_SAMPLE)
    first, second = page.locator(".st-key-compared_0"), page.locator(".st-key-compared_1")
    left, right = first.bounding_box(), second.bounding_box()
    page.locator(".st-key-compared_0").get_by_role("button", name=PICK).wait_for(timeout=WAIT_MS)
    page.locator(".st-key-compared_1").get_by_role("button", name=PICK).wait_for(timeout=WAIT_MS)
    samples = page.evaluate("() => { clearInterval(window.__compareTimer); return __compare; }")

    # Side by side at 1280 wide: the second column starts right of the first, level with it.
    assert left is not None
    assert right is not None
    assert left["x"] + left["width"] <= right["x"] + 1, (left, right)
    assert abs(left["y"] - right["y"]) < 5, (left, right)
    # At the same time: a stretch while both had a Stop in which both grew.
    streaming = [(at, a, b) for at, a, stop_a, b, stop_b in samples if stop_a and stop_b]
    assert len(streaming) >= 2, samples
    (_, a0, b0), (_, a1, b1) = streaming[0], streaming[-1]
    assert a1 > a0, streaming
    assert b1 > b0, streaming
    grew_together = sum(
        1 for (_, a, b), (_, a_next, b_next) in pairwise(streaming) if a_next > a and b_next > b
    )
    assert grew_together >= 1, streaming

    # On a phone's width the columns stack: the second under the first.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function(
        """() => {
          const [a, b] = [0, 1].map((i) => document.querySelector(`.st-key-compared_${i}`)
            .getBoundingClientRect());
          return b.top >= a.bottom - 1 && Math.abs(a.left - b.left) < 5;
        }""",
        timeout=WAIT_MS,
    )
    page.set_viewport_size({"width": 1280, "height": 900})

    # Choose the second: it is the reply on show, and the conversation goes on with its model.
    second.get_by_role("button", name=PICK).click()
    expect(page.locator(".st-key-compared_0")).to_have_count(0, timeout=WAIT_MS)
    chat.wait_until_idle()
    reply = chat.messages.nth(1)
    expect(reply).to_contain_text("Second writes paragraph 11", timeout=WAIT_MS)
    expect(reply).to_contain_text("2 / 2")  # the first is the other version
    emulator.by_model.clear()
    emulator.default = Behavior(reply="The follow-up's answer.")
    index = chat.send("And then?")
    assert chat.wait_for_reply(index) == "The follow-up's answer."
    sent = emulator.chat_requests[-1].body
    assert sent["model"]["id"] == SECOND
    assert sent["messages"][1]["content"] == paragraphs("Second")

    store = ConversationStore(page_server.env["DATABASE_URL"])
    try:
        (summary,) = [s for s in store.list(LOCAL_OWNER) if s.title == "Two models, one question"]
        stored = store.load(summary.id, LOCAL_OWNER)
    finally:
        store.close()
    assert stored is not None
    question = stored.messages[0]
    versions = {m.model_id: m.text for m in stored.children(question.id)}
    assert versions == {FIRST: paragraphs("First"), SECOND: paragraphs("Second")}


def test_a_reload_mid_comparison_shows_both_still_streaming_each_with_its_own_stop(
    chat: ChatPage, page: Page, emulator: Emulator
) -> None:
    # Over three minutes each: still being written after a reload however slow the machine,
    # and stopped long before (a reply that ended on its own would end the test's story).
    for model, name in ((FIRST, "First"), (SECOND, "Second")):
        emulator.by_model[model] = Behavior(reply=paragraphs(name, 600), chunk_bytes=12, delay=0.08)
    chat.open()
    bar = page.locator(".st-key-model_bar")
    bar.get_by_text("Compare", exact=True).click()
    expect(bar.get_by_text("GPT-4 · OpenAI")).to_be_visible(timeout=WAIT_MS)
    chat.wait_until_idle()
    chat.send("Reload me halfway")
    both_streaming = f"() => ({_COLUMNS})().every(([length, stop]) => length > 0 && stop)"
    _wait_for_columns(page, both_streaming, "both streaming after the message was sent")
    assert "?c=" in page.url

    page.reload()
    _wait_for_columns(page, both_streaming, "both streaming after the reload")
    before = page.evaluate(_COLUMNS)
    page.wait_for_function(
        f"(before) => ({_COLUMNS})().every(([length], i) => length > before[i][0])",
        arg=before,
        timeout=WAIT_MS,
    )  # both go on growing after the reload

    # Each column's Stop stops its own reply: the other goes on.
    first, second = page.locator(".st-key-compared_0"), page.locator(".st-key-compared_1")
    first.get_by_role("button", name="Stop").click()
    expect(first.get_by_role("button", name=PICK)).to_be_visible(timeout=WAIT_MS)
    expect(first).to_contain_text("Stopped")
    growing = page.evaluate(_COLUMNS)[1]
    assert growing[1], growing  # the second still has its Stop
    page.wait_for_function(
        f"(before) => ({_COLUMNS})()[1][0] > before", arg=growing[0], timeout=WAIT_MS
    )
    second.get_by_role("button", name="Stop").click()
    expect(second.get_by_role("button", name=PICK)).to_be_visible(timeout=WAIT_MS)
    expect(second).to_contain_text("Stopped")
