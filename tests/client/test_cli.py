"""`python -m liaobots_core` run as a real process against the emulator, as a person runs it."""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from liaobots_core.emulator import Behavior, Emulator, Guests
from testkit import AUTH_CODE

ROOT = Path(__file__).resolve().parents[2]
MIXED = "Привет, мир! 你好，世界！ 👋🏽 Ёжик — 𝄞 🇷🇺 «ёлки»\nвторая строка"
QUESTION = "Как дела? 🐍"
RUN_TIMEOUT = 60.0  # a hung CLI fails the test instead of hanging the suite; a slow one passes


def cli_env(base_url: str, auth_code: str | None = AUTH_CODE) -> dict[str, str]:
    """The caller's environment with only our settings: no stray LIAOBOTS_* from the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIAOBOTS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    env["LIAOBOTS_BASE_URL"] = base_url
    if auth_code is not None:
        env["LIAOBOTS_AUTH_CODE"] = auth_code
    return env


def run_cli(
    args: Sequence[str], env: Mapping[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liaobots_core", *args],
        env=dict(env),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        encoding="utf-8",
        timeout=RUN_TIMEOUT,
        cwd=ROOT,
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_one_clean_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_reply_streams_to_stdout_exactly_and_exits_0(emulator: Emulator) -> None:
    emulator.default = Behavior(reply=MIXED, chunk_bytes=5, split_multibyte=True)
    result = run_cli([QUESTION], cli_env(emulator.base_url))
    assert result.returncode == 0, result.stderr
    assert result.stdout == MIXED + "\n"
    assert result.stderr == ""
    (request,) = emulator.chat_requests
    assert request.body["messages"] == [{"role": "user", "content": QUESTION}]
    assert request.headers["x-auth-code"] == AUTH_CODE


def test_system_prompt_and_model_reach_the_server(emulator: Emulator) -> None:
    emulator.default = Behavior(reply="ok")
    args = [QUESTION, "--model", "gpt-4", "--system", "Отвечай кратко."]
    result = run_cli(args, cli_env(emulator.base_url))
    assert result.returncode == 0, result.stderr
    (request,) = emulator.chat_requests
    assert request.body["prompt"] == "Отвечай кратко."
    assert request.body["model"] == {
        "id": "gpt-4",
        "name": "GPT-4",
        "maxLength": 24000,
        "tokenLimit": 8000,
    }


def test_model_known_only_to_the_server_is_sent_as_the_server_lists_it(
    emulator: Emulator,
) -> None:
    emulator.default = Behavior(reply="ok")
    result = run_cli([QUESTION, "--model", "claude-3-5-sonnet"], cli_env(emulator.base_url))
    assert result.returncode == 0, result.stderr
    (request,) = emulator.chat_requests
    (listed,) = [m for m in emulator.models if m["id"] == "claude-3-5-sonnet"]
    assert request.body["model"] == listed


def test_base_url_flag_overrides_the_environment(emulator: Emulator) -> None:
    emulator.default = Behavior(reply="через флаг")
    env = cli_env(f"http://127.0.0.1:{closed_port()}")
    result = run_cli([QUESTION, "--base-url", emulator.base_url], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "через флаг\n"


def test_question_dash_is_read_from_stdin(emulator: Emulator) -> None:
    emulator.default = Behavior(reply="ok")
    result = run_cli(["-"], cli_env(emulator.base_url), stdin="Вопрос\nиз stdin")
    assert result.returncode == 0, result.stderr
    (request,) = emulator.chat_requests
    assert request.body["messages"][0]["content"] == "Вопрос\nиз stdin"


def test_rejected_auth_code_is_one_clear_line_without_the_code(emulator: Emulator) -> None:
    wrong = "wrong-code-7d3e41"
    result = run_cli([QUESTION], cli_env(emulator.base_url, auth_code=wrong))
    assert result.returncode != 0
    line = assert_one_clean_error_line(result)
    assert "auth code" in line
    assert "401" in line
    assert result.stdout == ""
    assert wrong not in result.stdout + result.stderr
    assert len(emulator.chat_requests) == 1  # a rejected code is not retried


def test_rejected_auth_code_is_said_in_the_terminals_words_not_the_pages(
    emulator: Emulator,
) -> None:
    result = run_cli([QUESTION], cli_env(emulator.base_url, auth_code="wrong-code-7d3e41"))
    line = assert_one_clean_error_line(result)
    assert line == (
        "error: The auth code was rejected (401). Set a valid code in LIAOBOTS_AUTH_CODE."
    )
    assert "sidebar" not in line


def test_rate_limit_with_retry_after_is_said_in_the_terminals_words(emulator: Emulator) -> None:
    emulator.default = Behavior(status=429, retry_after="7")
    result = run_cli([QUESTION], cli_env(emulator.base_url))
    assert result.returncode == 1
    line = assert_one_clean_error_line(result)
    assert line == (
        "error: The service is rate limiting requests (429). Wait 7 seconds and try again."
    )


def test_missing_auth_code_is_a_clear_error_and_sends_nothing(emulator: Emulator) -> None:
    result = run_cli([QUESTION], cli_env(emulator.base_url, auth_code=None))
    assert result.returncode != 0
    line = assert_one_clean_error_line(result)
    assert "LIAOBOTS_AUTH_CODE" in line
    assert "--guest" in line
    assert emulator.chat_requests == []


def test_guest_flag_signs_in_as_a_guest_and_streams_the_reply(emulator: Emulator) -> None:
    emulator.default = Behavior(reply=MIXED, chunk_bytes=5, split_multibyte=True)
    result = run_cli(["--guest", QUESTION], cli_env(emulator.base_url, auth_code=None))
    assert result.returncode == 0, result.stderr
    assert result.stdout == MIXED + "\n"
    assert result.stderr == ""
    (request,) = emulator.chat_requests
    code = request.headers["x-auth-code"]
    assert "gkp2=" in request.headers["cookie"]
    assert emulator.guest_sign_ins == 1
    assert code not in result.stdout + result.stderr


def test_guest_flag_does_not_use_the_code_in_the_environment(emulator: Emulator) -> None:
    emulator.default = Behavior(reply="ok")
    result = run_cli(["--guest", QUESTION], cli_env(emulator.base_url))
    assert result.returncode == 0, result.stderr
    (request,) = emulator.chat_requests
    assert request.headers["x-auth-code"] != AUTH_CODE


def test_guest_flag_against_a_service_refusing_guests_is_one_clear_line(
    emulator: Emulator,
) -> None:
    emulator.guests = Guests(login_status=403)
    result = run_cli(["--guest", QUESTION], cli_env(emulator.base_url, auth_code=None))
    assert result.returncode == 1
    line = assert_one_clean_error_line(result)
    assert "does not let guests in" in line
    assert "offline demo" in line
    assert emulator.chat_requests == []


def test_refused_connection_is_a_clear_error_naming_the_address() -> None:
    base_url = f"http://127.0.0.1:{closed_port()}"
    result = run_cli([QUESTION], cli_env(base_url))
    assert result.returncode != 0
    line = assert_one_clean_error_line(result)
    assert base_url in line
    assert AUTH_CODE not in result.stdout + result.stderr


@pytest.mark.parametrize("question", ["", "   \n"])
def test_empty_question_exits_2_with_a_clear_message(emulator: Emulator, question: str) -> None:
    result = run_cli([question], cli_env(emulator.base_url))
    assert result.returncode == 2
    assert "question is empty" in assert_one_clean_error_line(result)
    assert emulator.requests == []


def test_list_models_prints_the_servers_model_ids(emulator: Emulator) -> None:
    emulator.models = [
        {"id": "mistral-large", "name": "Mistral Large", "maxLength": 64000, "tokenLimit": 32000},
        {"id": "gpt-4o", "name": "GPT-4o", "maxLength": 48000, "tokenLimit": 16000},
    ]
    result = run_cli(["--list-models"], cli_env(emulator.base_url))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["mistral-large", "gpt-4o"]
    assert lines[0] == "mistral-large\tMistral Large"
    assert emulator.chat_requests == []


def test_first_words_reach_stdout_while_the_reply_is_still_coming(emulator: Emulator) -> None:
    first = "Первые слова 👋 "
    emulator.default = Behavior(
        transfer="close",
        reply=first + "и остальное",
        chunk_bytes=len(first.encode()),
        delay=60.0,  # the rest never comes during the test; stopping the emulator ends it
    )
    proc = start_cli(emulator.base_url)
    try:
        received = read_at_least(proc, len(first.encode()), deadline=time.monotonic() + 15.0)
        assert proc.poll() is None  # still waiting for the rest, yet the first words are out
    finally:
        proc.kill()
        proc.communicate(timeout=RUN_TIMEOUT)
    assert received.decode() == first


def start_cli(base_url: str) -> subprocess.Popen[bytes]:
    """The terminal client asking QUESTION, its output read as it comes."""
    return subprocess.Popen(
        [sys.executable, "-m", "liaobots_core", QUESTION],
        env=cli_env(base_url),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )


def read_at_least(proc: subprocess.Popen[bytes], size: int, deadline: float) -> bytes:
    """Read the process's stdout until `size` bytes came, it closed, or the deadline passed."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(timeout=remaining):
                break
            piece = os.read(fd, 4096)
            if not piece:
                break
            data += piece
    return data


def test_reply_to_a_console_that_cannot_show_it_is_not_a_traceback(emulator: Emulator) -> None:
    emulator.default = Behavior(reply="Hello, мир 👋")
    env = {**cli_env(emulator.base_url), "PYTHONIOENCODING": "ascii"}  # e.g. a cp1252 pipe
    result = run_cli([QUESTION], env)
    assert "Traceback" not in result.stderr
    assert result.returncode == 0
    assert result.stdout.startswith("Hello, ")


def test_reader_closing_the_pipe_early_is_not_a_traceback(emulator: Emulator) -> None:
    # 1 MB cannot fit in a pipe buffer: the CLI is still writing when the reader goes away.
    emulator.default = Behavior(reply="Привет " * 80_000, chunk_bytes=4096)
    proc = start_cli(emulator.base_url)
    assert proc.stdout is not None
    try:
        assert read_at_least(proc, 10, deadline=time.monotonic() + 15.0)
        proc.stdout.close()  # what `| head -c 10` does after its ten bytes
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        proc.kill()
        proc.wait(timeout=RUN_TIMEOUT)
    assert b"Traceback" not in stderr


def test_list_models_from_an_unreachable_service_fails_instead_of_showing_the_catalog() -> None:
    result = run_cli(
        ["--list-models", "--max-retries", "0"], cli_env(f"http://127.0.0.1:{closed_port()}")
    )
    assert result.returncode != 0
    assert "Could not connect" in result.stderr
    assert "gpt-3.5-turbo" not in result.stdout
