"""Run the emulator from a shell: `python -m liaobots_core.emulator --port 8765`.

The defaults pace the reply (16-byte pieces, 20 ms apart) so an offline demo visibly streams.
"""

from __future__ import annotations

import argparse
import os
import signal
import ssl
import threading
from collections.abc import Sequence

from .behavior import Behavior
from .server import Emulator


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m liaobots_core.emulator",
        description="Serve the Liaobots chat API locally with deterministic replies.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--auth-code",
        default=None,
        help="the code to require (default: $LIAOBOTS_AUTH_CODE; if unset, any code passes)",
    )
    parser.add_argument("--prefix", default="", help="path prefix, e.g. /liaobots")
    parser.add_argument("--framing", choices=["raw", "sse"], default="raw")
    parser.add_argument("--transfer", choices=["chunked", "close"], default="chunked")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between pieces")
    parser.add_argument("--chunk-bytes", type=int, default=16, help="bytes per piece")
    parser.add_argument(
        "--sse-done",
        action="store_true",
        help="end SSE replies with data: [DONE] (earlier clients' habit; off by default)",
    )
    parser.add_argument("--tls-cert", default=None, help="serve https with this PEM certificate")
    parser.add_argument("--tls-key", default=None, help="the certificate's PEM private key")
    return parser.parse_args(argv)


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """A server TLS context from PEM files, or None for plain http."""
    if cert is None and key is None:
        return None
    if cert is None:
        raise SystemExit("error: --tls-key needs --tls-cert")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise SystemExit(f"error: cannot load the TLS certificate: {exc}") from None
    return context


def emulator_from_args(args: argparse.Namespace) -> Emulator:
    """The emulator the command line asks for, not yet started."""
    auth_code = args.auth_code or os.environ.get("LIAOBOTS_AUTH_CODE") or None
    try:
        behavior = Behavior(
            framing=args.framing,
            transfer=args.transfer,
            delay=args.delay,
            chunk_bytes=args.chunk_bytes,
            sse_done=args.sse_done,
        )
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    return Emulator(
        host=args.host,
        port=args.port,
        auth_code=auth_code,
        path_prefix=args.prefix,
        default=behavior,
        tls=tls_context(args.tls_cert, args.tls_key),
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    emulator = emulator_from_args(parse_args(argv))
    # SIGTERM (a service manager's, or a parent's that started it in the background, where a
    # shell leaves Ctrl-C's SIGINT ignored) stops it as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    emulator.start()
    auth = "the configured auth code" if emulator.requires_code else "any auth code"
    print(
        f"Liaobots emulator at {emulator.base_url} (accepts {auth}; Ctrl-C or SIGTERM stops)",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
