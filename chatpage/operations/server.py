"""What `streamlit run app.py` serves beside the page: `/metrics`, and a clean exit.

`app.py` hands these to Streamlit's `st.App` (Streamlit 1.67 serves every page through
Starlette and uvicorn; `streamlit run` finds an `st.App` in the script and serves it, routes
and all, with the page, its websocket, `/_stcore/health` and the sign-in routes unchanged).

`/metrics` answers only a client on this machine that came through no proxy and asks by a
loopback name: a scraper on the host, or nginx's loopback-only per-replica address (which
forwards no client headers, and names the replica's own address as Host). A public
site that proxies everything would otherwise publish it; the nginx site also refuses it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from chatpage import downloads
from chatpage.access.connection import loopback_host
from chatpage.access.identity import PROXY_HEADERS, is_loopback
from chatpage.journal import finish_replies
from chatpage.operations import (
    collector,
    metrics,  # noqa: F401  (the page's metrics exist before the first scrape)
)

METRICS_PATH = "/metrics"


def from_this_machine(client_host: str | None, headers: dict[str, str]) -> bool:
    """A loopback peer that no proxy forwarded (a proxy adds X-Forwarded-For and the like),
    asking by a loopback name: a browser on this machine that a web page rebound to it sends
    that page's name as Host (chatpage/access/connection.py)."""
    loopback = client_host is not None and is_loopback(client_host)
    wanted = {name.lower() for name in PROXY_HEADERS}
    host = next((value for key, value in headers.items() if key.lower() == "host"), None)
    forwarded = any(key.lower() in wanted for key in headers)
    return loopback and not forwarded and loopback_host(host)


async def metrics_text(request: Request) -> Response:
    """This process's metrics in Prometheus text format; "not found" to anyone else."""
    client = request.client.host if request.client else None
    if not from_this_machine(client, dict(request.headers)):
        return PlainTextResponse("Not Found", status_code=404)
    body = await asyncio.to_thread(generate_latest, REGISTRY)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})


# Seconds a thread keeps the interpreter while another waits for it (Python's default: 5 ms).
# The event loop that sends every session's messages gives the interpreter up at each system
# call and waits behind the page runs and reply threads to get it back: at 100 sessions its
# sends stalled for seconds while the runs went on (docs/benchmarks.md, "The pauses at 100
# sessions"). At 2 ms, six alternating pairs of `bench/load.py --sessions 100`: first text
# p95 median 0.96 s against 1.29 s, page load 1.18 against 1.49 s, the same CPU per reply.
SWITCH_INTERVAL = 0.002


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """On the way out, replies get their grace period before the process ends (see
    `persistence.finish_replies`: under `st.App`, uvicorn ends it without `atexit`). On the
    way in, what the server loaded is kept out of later garbage collections (`collector`),
    threads hand the interpreter on sooner (`SWITCH_INTERVAL`), and a download made for one
    person outlives others' page runs (`downloads`)."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    collector.settle()
    downloads.hold_for_this_process()
    yield
    await asyncio.to_thread(finish_replies)


ROUTES = [Route(METRICS_PATH, metrics_text, methods=["GET"])]
