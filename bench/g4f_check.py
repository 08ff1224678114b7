"""Independent clients against the emulator: gpt4free's `Liaobots` provider, three versions.

Each version of PyPI `g4f` gets a venv of its own (in a cache directory, never the repo) and
runs its provider unchanged against the emulator, started by its own CLI with the framing that
generation used. The provider's hosts (liaobots.work, .site, .com) are sent to the emulator by
the one thing changed in the provider's process: `socket.getaddrinfo` answers 127.0.0.1 and the
emulator's port for them. The provider speaks https (without checking certificates), so the
emulator serves TLS with a certificate made for this run. A version passes when its reply
carries the question back and no exception escaped.

    python bench/g4f_check.py [--versions 0.4.5.0 0.5.2.0 0.5.3.0] [--cache-dir DIR]

Needs pip access to PyPI (or its mirror) the first time, and `openssl`. Not a unit test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "g4f-check"
# The reply framing each provider version was written against.
FRAMING = {"0.4.5.0": "raw", "0.5.2.0": "sse", "0.5.3.0": "sse"}
HOSTS = ("liaobots.work", "liaobots.site", "liaobots.com", "www.liaobots.work", "www.liaobots.com")
QUESTION = "Say the magic word back: quokka-7f3a, and what is 2 + 2?"
START_DEADLINE = 60.0
RUN_DEADLINE = 120.0
AUTH_CODE = "demo"

# Runs inside the provider's venv: redirects the hosts, runs the provider, prints one JSON line.
RUNNER = """
import asyncio, json, socket, sys, traceback

port, question, hosts = int(sys.argv[1]), sys.argv[2], set(sys.argv[3].split(","))
_real = socket.getaddrinfo

def getaddrinfo(host, port_, *args, **kwargs):
    if isinstance(host, bytes):
        host = host.decode()
    if host in hosts:
        return _real("127.0.0.1", port, *args, **kwargs)
    return _real(host, port_, *args, **kwargs)

socket.getaddrinfo = getaddrinfo

from g4f.Provider import Liaobots

pieces = []

async def ask():
    generator = Liaobots.create_async_generator(
        Liaobots.default_model, [{"role": "user", "content": question}]
    )
    async for piece in generator:
        if isinstance(piece, str):
            pieces.append(piece)
    return "".join(pieces)

try:
    reply, error = asyncio.run(ask()), None
except BaseException as exc:  # what arrived before the failure still counts as arrived
    reply, error = "".join(pieces), "".join(traceback.format_exception_only(type(exc), exc)).strip()
print(json.dumps({"model": Liaobots.default_model, "reply": reply, "error": error}))
"""


@dataclass
class Outcome:
    version: str
    framing: str
    model: str
    reply_chars: int
    question_back: bool
    error: str | None

    @property
    def passed(self) -> bool:
        return self.question_back and self.error is None


def venv_python(cache: Path, version: str) -> Path:
    """The venv for one g4f version, made and filled once."""
    home = cache / f"g4f-{version}"
    python = home / "bin" / "python"
    marker = home / ".installed"
    if not marker.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"g4f=={version}"], check=True)
        marker.write_text(version)
    return python


def make_certificate(where: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for the provider's hosts."""
    cert, key = where / "cert.pem", where / "key.pem"
    names = ",".join(f"DNS:{host}" for host in HOSTS)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            f"/CN={HOSTS[0]}",
            "-addext",
            f"subjectAltName={names}",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def start_emulator(
    framing: str, cert: Path, key: Path, extra: list[str]
) -> tuple[subprocess.Popen[str], int]:
    """The emulator by its own CLI; returns the process and the port it bound."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liaobots_core.emulator",
            "--port",
            "0",
            "--auth-code",
            AUTH_CODE,
            "--framing",
            framing,
            "--delay",
            "0",
            "--chunk-bytes",
            "64",
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
            *extra,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + START_DEADLINE
    line = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if match := re.search(r"https://127\.0\.0\.1:(\d+)", line):
            return process, int(match.group(1))
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"the emulator did not say where it listens within {START_DEADLINE}s")


def check(version: str, cache: Path, certs: tuple[Path, Path], extra: list[str]) -> Outcome:
    python = venv_python(cache, version)
    runner = cache / "runner.py"
    runner.write_text(RUNNER)
    framing = FRAMING.get(version, "sse")
    process, port = start_emulator(framing, *certs, extra)
    try:
        env = {**os.environ, "SSL_CERT_FILE": str(certs[0])}
        env.pop("PYTHONPATH", None)  # the provider sees only its own venv
        done = subprocess.run(
            [str(python), str(runner), str(port), QUESTION, ",".join(HOSTS)],
            capture_output=True,
            text=True,
            timeout=RUN_DEADLINE,
            env=env,
            cwd=cache,
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return Outcome(version, framing, "?", 0, False, f"no answer: {done.stderr[-500:]}")
    result = json.loads(lines[-1])
    reply = result["reply"] or ""
    return Outcome(
        version, framing, result["model"], len(reply), QUESTION in reply, result["error"]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", nargs="+", default=list(FRAMING))
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--sse-done", action="store_true", help="have the emulator end SSE with data: [DONE]"
    )
    args = parser.parse_args()
    extra = ["--sse-done"] if args.sse_done else []
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        certs = make_certificate(Path(tmp))
        outcomes = [check(version, args.cache_dir, certs, extra) for version in args.versions]
    print(f"{'g4f':<9} {'framing':<8} {'model':<28} {'chars':>6}  question back  error")
    for o in outcomes:
        print(
            f"{o.version:<9} {o.framing:<8} {o.model:<28} {o.reply_chars:>6}  "
            f"{'yes' if o.question_back else 'NO':<13}  {o.error or '-'}"
        )
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
