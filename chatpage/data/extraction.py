"""Attached files read in a child process with limits, so a hostile file costs the page nothing.

A 16 KB PDF can make pypdf work for minutes, a 95 KB DOCX unpack to 100 MB: the page's own
process, whose one core serves every session on it, never reads a file. Each file is read by
a fresh child forked from a `forkserver` that has pypdf and python-docx imported already (a
few milliseconds to start: see `forkserver_preload`). Before it touches the bytes the child
limits itself with `resource`: CPU seconds (`RLIMIT_CPU`) and address space (`RLIMIT_AS`);
the page waits for it at most `WALL_SECONDS` and kills it after. A process-wide semaphore
bounds the files read at once; the waiting page thread holds no GIL, so other sessions go on
meanwhile.

Why a fresh child per file rather than a `ProcessPoolExecutor`: `RLIMIT_CPU` counts a
process's whole life, so a reused worker would share one CPU budget among every file it
reads; and a pool whose worker is killed by a limit is broken as a whole, failing the other
sessions' files in it. Here a child killed by a limit takes only its own file with it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from chatpage.access.limits import FILE_MAX_BYTES
from chatpage.data.attachments import FileRefused, Upload, check_count, check_size, read
from chatpage.data.conversation import Attachment, ErrorInfo

log = logging.getLogger(__name__)

CPU_SECONDS = 8  # of computing for one file; a normal 20-page PDF takes about 0.1 s
WALL_SECONDS = 20.0  # from the start of reading to its end, waiting for a free core included
MEMORY_BYTES = 512 * 1024 * 1024  # of address space a child may add to what it starts with
AT_ONCE = 2  # files read at the same time by one app process; others wait their turn
# What the fork server imports before it forks a child: the readers, and the module that keeps
# each child from running the page's script again first (`forkserver_preload`).
_PRELOAD = [
    "chatpage.data.forkserver_preload",
    "chatpage.data.extraction",
    "chatpage.data.foreign_imports",  # exports from ChatGPT and Claude: the same bounds
    "pypdf",
    "docx",
    "charset_normalizer",
]


@dataclass(frozen=True)
class Bounds:
    """What reading one file may cost."""

    cpu_seconds: int = CPU_SECONDS
    wall_seconds: float = WALL_SECONDS
    memory_bytes: int = MEMORY_BYTES


_slots = threading.BoundedSemaphore(AT_ONCE)
_context_lock = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


def read_all(
    uploads: Iterable[Upload],
    *,
    max_bytes: int = FILE_MAX_BYTES,
    max_chars: int | None = None,
    bounds: Bounds = Bounds(),
) -> tuple[Attachment, ...]:
    """Every file as an attachment, or `FileRefused` for the first that cannot be sent.

    Count and sizes are checked first, from what the browser said, so nothing is read of a
    message that could never go; then each file is read in a bounded child, in turn.
    """
    files = list(uploads)
    check_count(len(files))
    for upload in files:
        check_size(upload, max_bytes)
    return tuple(
        read_bounded(f, max_bytes=max_bytes, max_chars=max_chars, bounds=bounds) for f in files
    )


def read_bounded(
    upload: Upload,
    *,
    max_bytes: int = FILE_MAX_BYTES,
    max_chars: int | None = None,
    bounds: Bounds = Bounds(),
) -> Attachment:
    """One file read in a child process within `bounds`; `FileRefused` says which bound it met."""
    check_size(upload, max_bytes)
    if not _slots.acquire(timeout=bounds.wall_seconds):  # its turn, within the same time
        raise FileRefused(ErrorInfo("file_reading_busy", limit=AT_ONCE))
    try:
        deadline = time.monotonic() + bounds.wall_seconds
        return _in_child(upload, max_bytes, max_chars, bounds, deadline)
    finally:
        _slots.release()


def forkserver() -> multiprocessing.context.BaseContext:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            _context = context
        return _context


@dataclass(frozen=True)
class ChildOutcome:
    """How a bounded child ended: what it sent back, or how it died, or that time ran out."""

    answer: object  # None when it died before answering, or ran out of wall time
    exitcode: int | None
    out_of_time: bool


def run_in_child(
    target: Callable[..., None], args: tuple[object, ...], name: str, deadline: float
) -> ChildOutcome:
    """`target(pipe_end, *args)` in a child of the fork server, waited for until `deadline`.

    The child limits itself (`limit_self`) and sends one answer down its pipe; a child still
    running at the deadline is killed. File reading and the ChatGPT/Claude imports share it.
    """
    receiving, sending = forkserver().Pipe(duplex=False)
    child = forkserver().Process(  # type: ignore[attr-defined]
        target=target, args=(sending, *args), name=name, daemon=True
    )
    answer: object = None
    late = False
    try:
        child.start()
        sending.close()  # the child's end: its death shows here as the end of the pipe
        if receiving.poll(max(0.0, deadline - time.monotonic())):
            try:
                answer = receiving.recv()
            except (EOFError, OSError):  # the child died before it answered: see its exit
                answer = None
            child.join(5.0)
        else:
            late = True
    finally:
        if child.is_alive():
            child.kill()
            child.join(5.0)
        sending.close()
        receiving.close()
    return ChildOutcome(answer, child.exitcode, late)


def _in_child(
    upload: Upload, max_bytes: int, max_chars: int | None, bounds: Bounds, deadline: float
) -> Attachment:
    done = run_in_child(
        _child, (upload, max_bytes, max_chars, bounds), "chat-file-reader", deadline
    )
    if done.out_of_time:
        log.info("a file took longer than %.0f s to read; its reader was stopped",
                 bounds.wall_seconds)  # fmt: skip
        raise FileRefused(ErrorInfo("file_too_slow", limit=round(bounds.wall_seconds)))
    if isinstance(done.answer, Attachment):
        return done.answer
    if isinstance(done.answer, ErrorInfo):
        raise FileRefused(done.answer)
    return _died(done.exitcode, bounds)


def _died(exitcode: int | None, bounds: Bounds) -> Attachment:
    """A child that ended without an answer met a limit that kills: say which."""
    if exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
        log.info("a file's reader used its %d s of CPU", bounds.cpu_seconds)
        raise FileRefused(ErrorInfo("file_too_slow", limit=bounds.cpu_seconds))
    log.warning("a file's reader ended without an answer (exit code %s)", exitcode)
    raise FileRefused(ErrorInfo("file_too_big_inside", limit=bounds.memory_bytes))


def _child(
    answer: Connection, upload: Upload, max_bytes: int, max_chars: int | None, bounds: Bounds
) -> None:
    """In the child: limit itself, read the file, send back its text or why not."""
    limit_self(bounds)
    outcome: Attachment | ErrorInfo
    try:
        outcome = read(upload, max_bytes=max_bytes, max_chars=max_chars)
    except FileRefused as refused:
        outcome = refused.error
    except MemoryError:
        outcome = ErrorInfo("file_too_big_inside", limit=bounds.memory_bytes)
    except OutOfTime:
        outcome = ErrorInfo("file_too_slow", limit=bounds.cpu_seconds)
    except Exception:  # a bug of the reader's on a file nobody foresaw: unreadable, logged
        log.exception("a file could not be read")
        outcome = ErrorInfo("file_unreadable")
    answer.send(outcome)
    answer.close()


class OutOfTime(BaseException):
    """The child used its CPU seconds (SIGXCPU): raised where the reading was, and past
    the readers' own `except Exception`, which would call the file damaged."""


def limit_self(bounds: Bounds) -> None:
    """CPU seconds (a signal at the soft limit, a kill a second later) and address space.

    The address space is counted from what the child has at its start (the interpreter and
    the preloaded readers), so the bound is on what the file makes it take.
    """
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime)
    soft = spent + bounds.cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))

    def out_of_time(_signum: int, _frame: object) -> None:
        raise OutOfTime

    signal.signal(signal.SIGXCPU, out_of_time)
    start = _address_space()
    if start is not None:
        limit = start + bounds.memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _address_space() -> int | None:
    try:
        with open(f"/proc/{os.getpid()}/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None
