"""Issue 22's bars in a real browser: hostile files cost the app process almost nothing, and
a reply holding NUL, ESC, form feed and BEL keeps the text after them through a reload.

The app process's CPU seconds and peak memory are read from /proc for the `streamlit run`
process itself; the files are read by its bounded children (chatpage/data/extraction.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from liaobots_core.emulator import Behavior, Emulator
from testkit.browser import INPUT, REPLY_TIMEOUT_MS, ChatPage, StreamlitServer
from testkit.files import docx_with_huge_xml, pdf_pages_sharing_one_stream

pytestmark = pytest.mark.browser

FILE_INPUT = '[data-testid="stChatInput"] input[type="file"]'
MAX_CPU_SECONDS = 3.0
MAX_MORE_PEAK_BYTES = 150 * 1024 * 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of the process itself (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_bytes(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def send_with_file(page: Page, chat: ChatPage, typed: str, name: str, data: bytes, mime: str):
    page.set_input_files(FILE_INPUT, files=[{"name": name, "mimeType": mime, "buffer": data}])
    # Its chip first: Send is enabled until the upload has begun, and disabled while it runs.
    expect(page.get_by_role("button", name=f"Remove {name}")).to_be_visible()
    page.fill(INPUT, typed)
    expect(page.get_by_role("button", name="Send message")).to_be_enabled(timeout=REPLY_TIMEOUT_MS)
    page.press(INPUT, "Enter")


@pytest.mark.parametrize(
    ("name", "mime", "make", "refusal"),
    [
        (
            "attack.pdf",
            "application/pdf",
            pdf_pages_sharing_one_stream,
            "The text of a file is longer than a message may be",
        ),
        (
            "attack.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            docx_with_huge_xml,
            "A document unpacks to far more than its own size",
        ),
    ],
    ids=["pdf-100-pages-one-stream", "docx-20-mb-xml"],
)
def test_a_hostile_file_costs_the_app_under_3_cpu_seconds_and_the_next_message_is_answered(
    chat: ChatPage,
    page: Page,
    page_server: StreamlitServer,
    emulator: Emulator,
    name: str,
    mime: str,
    make,
    refusal: str,
) -> None:
    assert page_server.process is not None
    pid = page_server.process.pid
    data = make()
    emulator.default = Behavior(reply="The next message is answered.")
    chat.open()
    before = len(emulator.chat_requests)
    cpu, peak = cpu_seconds(pid), peak_bytes(pid)

    send_with_file(page, chat, "Read this file", name, data, mime)
    expect(page.get_by_text(refusal)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    chat.wait_until_idle()
    sent = [r.body["messages"][-1]["content"][:80] for r in emulator.chat_requests[before:]]
    assert sent == [], f"a refused message went upstream: {sent}"
    assert chat.messages.count() == 0, "a refused message was added to the conversation"
    expect(page.locator(INPUT)).to_have_value("Read this file")  # given back
    index = chat.send("And now a plain question")
    assert chat.wait_for_reply(index) == "The next message is answered."

    spent, grew = cpu_seconds(pid) - cpu, peak_bytes(pid) - peak
    print(
        f"\n{name} ({len(data):,} bytes): app CPU {spent:.2f} s, peak memory +{grew / 2**20:.1f} MB"
    )
    assert spent <= MAX_CPU_SECONDS, f"the app process spent {spent:.2f} s of CPU"
    assert grew <= MAX_MORE_PEAK_BYTES, f"the app process's peak grew by {grew / 2**20:.0f} MB"


ODD_REPLY = "Start\x00 after NUL\x1b[1m after ESC\x0c after form feed\x07 after BEL: the end."
KEPT = "Start after NUL[1m after ESC after form feed after BEL: the end."


def test_a_reply_holding_nul_esc_form_feed_and_bel_keeps_the_text_after_them_after_a_reload(
    chat: ChatPage, page: Page, page_server: StreamlitServer, emulator: Emulator
) -> None:
    emulator.default = Behavior(reply=ODD_REPLY, chunk_bytes=6)
    chat.open()
    index = chat.send("Say something odd")
    assert chat.wait_for_reply(index) == KEPT
    page.reload()
    chat.wait_until_idle()
    page.wait_for_function(
        "i => window.__chatTest.text(i).length > 0", arg=index, timeout=REPLY_TIMEOUT_MS
    )
    assert chat.text(index) == KEPT
    database = page_server.env["DATABASE_URL"]
    engine = create_engine(database)
    try:
        with engine.connect() as db:
            stored = db.execute(
                text(
                    "SELECT text, status FROM messages WHERE text LIKE 'Start%' "
                    "ORDER BY created_at DESC"
                )
            ).first()
    finally:
        engine.dispose()
    assert stored is not None
    assert tuple(stored) == (KEPT, "complete")
