"""A real `streamlit run app.py`: its `/metrics` after replies sent the way a browser sends
them, and its audit lines on stderr.

No browser is needed: `testkit/st_protocol.py` speaks Streamlit's websocket protocol, so these
run with the non-browser suite. The page talks to an emulator in this process over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from liaobots_core.emulator import Behavior, Emulator
from testkit import AUTH_CODE
from testkit.browser import StreamlitServer
from testkit.st_protocol import StreamlitSession

WAIT = 60.0  # seconds for the page to show its input, or for a count to change
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy


@pytest.fixture
def server(served_page: StreamlitServer) -> StreamlitServer:
    return served_page


@pytest.fixture
def emulator(page_service: Emulator) -> Emulator:
    page_service.clear()
    page_service.default = Behavior()
    return page_service


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, content type, body) of a GET, an error status included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _DIRECT.open(request, timeout=10) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def scrape(server: StreamlitServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the page's /metrics, keyed by name and sorted labels."""
    status, kind, body = get(server.url + "metrics")
    assert status == 200, body
    assert kind.startswith("text/plain; version="), kind
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def send_message(
    server: StreamlitServer, text: str, counted: Callable[[], bool], what: str
) -> None:
    """Open the page as a new tab does, send `text`, and stay until `counted()` holds.

    The tab stays open while the reply is written, as a person's would; `counted` is polled
    (a scrape of /metrics) and the test fails if it does not hold within WAIT seconds.
    """

    async def run() -> None:
        drawn = asyncio.Event()
        session = StreamlitSession(server.url)
        session.listener = lambda at, size, msg: drawn.set() if session.chat_input_id else None
        try:
            await session.open()
            await asyncio.wait_for(drawn.wait(), WAIT)
            await session.send_chat(text)
            deadline = time.monotonic() + WAIT
            while not await asyncio.to_thread(counted):
                if time.monotonic() > deadline:
                    pytest.fail(f"{what} within {WAIT:.0f} s; page closed: {session.close_reason}")
                await asyncio.sleep(0.1)
        finally:
            await session.close()

    # A thread of its own: the browser tests' Playwright keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, run()).result()


def test_health_still_answers_and_metrics_are_prometheus_text(server: StreamlitServer) -> None:
    status, _, body = get(server.url + "_stcore/health")
    assert (status, body) == (200, "ok")
    samples = scrape(server)
    assert ("liaobots_chat_replies_started_total", ()) in samples
    assert ("liaobots_chat_replies_finished_total", (("outcome", "complete"),)) in samples
    assert ("liaobots_chat_first_text_seconds_bucket", (("le", "30.0"),)) in samples


def test_a_reply_moves_the_counters_and_the_first_text_histogram(
    server: StreamlitServer, emulator: Emulator
) -> None:
    before = scrape(server)

    def finished() -> bool:
        now = scrape(server)
        return sample(now, "liaobots_chat_replies_finished_total", outcome="complete") > sample(
            before, "liaobots_chat_replies_finished_total", outcome="complete"
        )

    send_message(server, "Count this reply, please", finished, "no completed reply was counted")
    after = scrape(server)
    for name in ("liaobots_chat_replies_started_total", "liaobots_chat_first_text_seconds_count"):
        assert sample(after, name) == sample(before, name) + 1, name
    assert (
        sample(after, "liaobots_chat_first_text_seconds_bucket", le="+Inf")
        == sample(before, "liaobots_chat_first_text_seconds_bucket", le="+Inf") + 1
    )
    assert sample(after, "liaobots_chat_replies_streaming") == 0
    assert len(emulator.chat_requests) == 1


@pytest.mark.parametrize(("status", "kind"), [(401, "auth"), (500, "upstream")])
def test_a_failed_reply_is_counted_by_kind_and_by_the_services_status(
    server: StreamlitServer, emulator: Emulator, status: int, kind: str
) -> None:
    emulator.default = Behavior(status=status)
    before = scrape(server)

    def counted() -> bool:
        now = scrape(server)
        return sample(now, "liaobots_chat_reply_failures_total", kind=kind) > sample(
            before, "liaobots_chat_reply_failures_total", kind=kind
        )

    send_message(server, f"This one meets a {status}", counted, f"no {kind} failure was counted")
    after = scrape(server)
    assert sample(after, "liaobots_chat_upstream_errors_total", status=str(status)) == (
        sample(before, "liaobots_chat_upstream_errors_total", status=str(status)) + 1
    )
    assert sample(after, "liaobots_chat_replies_finished_total", outcome="failed") == (
        sample(before, "liaobots_chat_replies_finished_total", outcome="failed") + 1
    )


def test_metrics_are_refused_through_a_proxy_and_never_hold_the_code(
    server: StreamlitServer,
) -> None:
    status, _, body = get(server.url + "metrics", {"X-Forwarded-For": "203.0.113.9"})
    assert status == 404
    assert "liaobots_chat" not in body
    _, _, text = get(server.url + "metrics")
    assert AUTH_CODE not in text
    assert AUTH_CODE not in server.log_text()


def test_a_refusal_in_a_real_process_is_one_json_audit_line_on_stderr(
    server: StreamlitServer, emulator: Emulator
) -> None:
    text = "bad input 5f0c\x07"

    def audited() -> bool:
        return any('"kind": "control_chars"' in line for line in server.log_text().splitlines())

    send_message(server, text, audited, "no audit line for the refused message")
    (line,) = [line for line in server.log_text().splitlines() if '"control_chars"' in line]
    record = json.loads(line)  # the whole line is the JSON object: nothing before or after
    assert (record["event"], record["who"], record["kind"]) == ("refused", "local", "control_chars")
    assert "bad input" not in server.log_text()
    assert emulator.chat_requests == []
