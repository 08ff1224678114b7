"""`python -m liaobots_core "question"`: stream one reply to the terminal."""

from __future__ import annotations

import argparse
import getpass
import io
import os
import sys
from collections.abc import Sequence

from .client import AUTH_CODE_ENV, LiaobotsClient
from .errors import LiaobotsError, MissingAuthCodeError
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
        hint = " Or try --guest." if isinstance(exc, MissingAuthCodeError) else ""
        # Start the error on its own line only when part of a reply is already on screen.
        print(f"{chr(10) if printed else ''}error: {exc}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    sys.stdout.write("\n")
    return 0


def _ask_for_code() -> str | None:
    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass("Liaobots auth code: ") or None
    except (EOFError, KeyboardInterrupt):
        return None
