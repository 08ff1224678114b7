"""What the people who run the page watch: replies, first-text latency, upstream errors.

The metrics are made once, when this module is first imported (Python keeps it), never by a
page run: prometheus_client refuses to register a name twice. Each app process counts its own;
`chatpage/operations/server.py` serves them as Prometheus text at `/metrics`. No label ever
holds text a person typed, a conversation id or a code: only kinds, outcomes and HTTP statuses.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from liaobots_core import ConfigurationError, LiaobotsError, MissingAuthCodeError

# No `_created` series beside each counter: the process's start time says as much.
disable_created_metrics()

PREFIX = "liaobots_chat_"
OUTCOMES = ("complete", "stopped", "interrupted", "failed")
# The failure kinds a reply task records (chatpage/data/failures.py `describe`, and "unknown").
FAILURE_KINDS = (
    "missing_code",
    "human_check",
    "auth",
    "balance",
    "rate_limit",
    "upstream",
    "refused",
    "timeout",
    "connection",
    "connection_cut",
    "protocol",
    "config",
    "unknown",
)
# Where the store's writes are counted when they fail.
WRITES = (
    "message",  # a question or a reply stored (Journal.add)
    "settle",  # how a reply ended, written by the page (Journal.settle)
    "resume",  # a cut reply taken up again (Continue)
    "branch",  # the branch on show remembered
    "checkpoint",  # a streaming reply's text so far, about once a second
    "reply_end",  # how a reply ended, written by its task (retried)
    "stop",  # a Stop asked of another process through the store
    "conversation",  # a rename, a delete or an import from the sidebar
    "demo_use",  # a public-demo visitor's use counted
    "rating",  # a thumbs up or down on a reply
    "other",
)
# Seconds from a reply task's start to its first text: the service's own latency, mostly.
FIRST_TEXT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REPLIES_STARTED = Counter(
    PREFIX + "replies_started", "Replies this process started writing (reply tasks)."
)
REPLIES_FINISHED = Counter(
    PREFIX + "replies_finished",
    "Replies this process finished writing, by how they ended.",
    ["outcome"],
)
REPLY_FAILURES = Counter(
    PREFIX + "reply_failures",
    "Replies that ended failed, by the kind of failure the page shows.",
    ["kind"],
)
REPLIES_STREAMING = Gauge(
    PREFIX + "replies_streaming", "Replies this process is writing right now."
)
FIRST_TEXT = Histogram(
    PREFIX + "first_text_seconds",
    "Seconds from a reply task's start to the first text from the service.",
    buckets=FIRST_TEXT_BUCKETS,
)
UPSTREAM_ERRORS = Counter(
    PREFIX + "upstream_errors",
    'Errors from the Liaobots service, by HTTP status ("none": no status, e.g. a connection '
    "cut, a timeout, an unreadable answer, a human-check page).",
    ["status"],
)
# Seconds a garbage collection held every thread of the process (operations/collector.py).
GC_PAUSE_BUCKETS = (0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0)
GC_PAUSE = Histogram(
    PREFIX + "gc_pause_seconds",
    "Seconds each garbage collection held the process, by generation.",
    ["generation"],
    buckets=GC_PAUSE_BUCKETS,
)
DATABASE_WRITE_FAILURES = Counter(
    PREFIX + "database_write_failures",
    "Writes to the conversation store that failed, by what was being written.",
    ["write"],
)

# Series that exist from the start read 0, not "no data", until the first event.
for _outcome in OUTCOMES:
    REPLIES_FINISHED.labels(outcome=_outcome)
for _kind in FAILURE_KINDS:
    REPLY_FAILURES.labels(kind=_kind)
for _write in WRITES:
    DATABASE_WRITE_FAILURES.labels(write=_write)
for _generation in ("0", "1", "2"):
    GC_PAUSE.labels(generation=_generation)


def reply_finished(outcome: str, failure_kind: str | None = None) -> None:
    """Count a reply's end; a failed one also by its kind."""
    REPLIES_FINISHED.labels(outcome=outcome if outcome in OUTCOMES else "failed").inc()
    if outcome == "failed":
        kind = failure_kind if failure_kind in FAILURE_KINDS else "unknown"
        REPLY_FAILURES.labels(kind=kind).inc()


def upstream_error(exc: LiaobotsError) -> None:
    """Count an error that came from the service (not one the client raised before sending)."""
    if isinstance(exc, (MissingAuthCodeError, ConfigurationError)):
        return
    status = getattr(exc, "status_code", None)
    UPSTREAM_ERRORS.labels(status=str(status) if isinstance(status, int) else "none").inc()


def write_failed(write: str) -> None:
    """Count a failed write to the store (the caller logs it)."""
    DATABASE_WRITE_FAILURES.labels(write=write if write in WRITES else "other").inc()
