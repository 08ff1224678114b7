"""`python -m liaobots_core "question"`: stream one reply to the terminal."""

from __future__ import annotations

import argparse
import getpass
import io
import math
import os
import sys
from collections.abc import Sequence

from .client import AUTH_CODE_ENV, LiaobotsClient
from .errors import (
    AuthError,
    ConnectionFailedError,
    GuestRefusedError,
    HumanCheckError,
    InsufficientBalanceError,
    LiaobotsError,
    MissingAuthCodeError,
    ProtocolError,
    RateLimitError,
    StreamTimeoutError,
    UnknownModelError,
    UpstreamError,
    seconds,
)
from .models import DEFAULT_MODEL_ID


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m liaobots_core",
        description="Ask the Liaobots chat API one question and stream the answer.",
        epilog=(
            f"The auth code is read from {AUTH_CODE_ENV}, or asked for without echo; "
            "--guest signs in as a guest instead."
        ),
    )
    parser.add_argument(
        "question", nargs="?", default="", help="what to ask; '-' reads it from standard input"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL_ID, help="model id (default: %(default)s)")
    parser.add_argument("--system", default=None, help="system prompt")
    parser.add_argument("--base-url", default=None, help="service address (LIAOBOTS_BASE_URL)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="longest silence in seconds (%(default)s)"
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        default=2,
        help="retries before a reply starts, on connection failures and 5xx (%(default)s)",
    )
    parser.add_argument(
        "--guest",
        action="store_true",
        help=f"no code: sign in as a guest, as later public clients did (ignores {AUTH_CODE_ENV})",
    )
    parser.add_argument("--list-models", action="store_true", help="print the model ids and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A console that cannot show a character gets a stand-in, not a crash mid-reply.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    try:
        return _run(args)
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as cat does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _run(args: argparse.Namespace) -> int:
    question = sys.stdin.read() if args.question == "-" else args.question
    if not question.strip() and not args.list_models:
        print("error: the question is empty: give it as the first argument.", file=sys.stderr)
        return 2
    code = "" if args.guest else os.environ.get(AUTH_CODE_ENV) or _ask_for_code()
    printed = False
    try:
        with LiaobotsClient(
            auth_code=code or "",
            guest=args.guest,
            base_url=args.base_url,
            timeout=args.timeout,
            max_retries=max(0, args.max_retries),
        ) as client:
            if args.list_models:
                for model in client.list_models(fallback=False):
                    print(f"{model.id}\t{model.name}")
                return 0
            messages = [{"role": "user", "content": question}]
            with client.stream_chat(messages, args.model, args.system) as reply:
                for text in reply:
                    sys.stdout.write(text)
                    sys.stdout.flush()
                    printed = True
    except LiaobotsError as exc:
        sys.stdout.flush()
        # Start the error on its own line only when part of a reply is already on screen.
        print(f"{chr(10) if printed else ''}error: {say(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    sys.stdout.write("\n")
    return 0


def say(exc: LiaobotsError) -> str:
    """The failure in the terminal's words: what happened and which flag or variable helps."""
    if isinstance(exc, MissingAuthCodeError):
        return f"No auth code is set. Set {AUTH_CODE_ENV} or type it when asked. Or try --guest."
    if isinstance(exc, GuestRefusedError):
        return (
            f"The service does not let guests in right now ({exc.step}). Set {AUTH_CODE_ENV} "
            "to use a Liaobots auth code, or try the page's offline demo."
        )
    if isinstance(exc, HumanCheckError):
        return (
            "The service sent a web page instead of a reply: it wants a human check or the "
            f"session has expired. Open the service in a browser once, or set a fresh code in "
            f"{AUTH_CODE_ENV}."
        )
    if isinstance(exc, AuthError):
        if exc.reason == "unsendable":
            return (
                f"The auth code in {AUTH_CODE_ENV} holds characters no auth code has (control "
                "characters or letters outside ASCII), so nothing was sent. Set it again."
            )
        where = f" ({exc.status_code})" if exc.status_code else ""
        return f"The auth code was rejected{where}. Set a valid code in {AUTH_CODE_ENV}."
    if isinstance(exc, InsufficientBalanceError):
        return "The auth code has no balance left (402). Top it up or use another code."
    if isinstance(exc, RateLimitError):
        if exc.retry_after is None:
            return "The service is rate limiting requests (429). Wait a moment and try again."
        return (
            f"The service is rate limiting requests (429). Wait {_how_long(exc.retry_after)} "
            "and try again."
        )
    if isinstance(exc, UpstreamError):
        if exc.kind == "upstream":
            return (
                f"The Liaobots service is failing ({exc.status_code}). Try again in a minute; "
                "if it persists, the service may be down."
            )
        return (
            f"The Liaobots service refused the request ({exc.status_code}). "
            "Check --base-url and --model, then try again."
        )
    if isinstance(exc, StreamTimeoutError):
        where = "in the middle of the reply" if exc.during_reply else "before replying"
        return (
            f"The service went silent {where} for {_how_long(exc.timeout)}. Try again, "
            "or raise --timeout."
        )
    if isinstance(exc, ConnectionFailedError):
        if exc.during_reply:
            return "The connection broke in the middle of the reply. Try again."
        return (
            f"Could not connect to {exc.base_url}. "
            "Check your network and --base-url (LIAOBOTS_BASE_URL)."
        )
    if isinstance(exc, ProtocolError):
        return (
            f"The service sent a reply this client cannot read ({exc.detail}). "
            "Check that --base-url points at a Liaobots API."
        )
    if isinstance(exc, UnknownModelError):
        return (
            f"Unknown model {exc.model_id!r}. Choose one of: {', '.join(exc.valid_ids)} "
            "(--list-models lists them)."
        )
    return str(exc)  # a ConfigurationError names the value it cannot use


def _how_long(value: float) -> str:
    return seconds(value) if math.isfinite(value) else "a long while"


def _ask_for_code() -> str | None:
    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass("Liaobots auth code: ") or None
    except (EOFError, KeyboardInterrupt):
        return None
