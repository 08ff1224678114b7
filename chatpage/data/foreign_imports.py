"""A data export from ChatGPT or Claude, read whole in a bounded child process.

Each service's export is a `.zip` holding `conversations.json` (ChatGPT's also holds a file
per image, Claude's a users.json and a projects.json); people also upload the JSON alone.
Only that one member is read, into memory (nothing is written to disk): the member count is
bounded, and its size is checked as declared and again as it unpacks, so a zip bomb stops at
`FOREIGN_MAX_JSON_BYTES`. The JSON is bounded in nesting depth before it is parsed, then each
conversation in count and size (chatpage/data/foreign.py).

All of it runs in a child of the same fork server, with the same kind of limits, as attached
files' reading (chatpage/data/extraction.py): CPU seconds, address space and wall time, so
a hostile file costs the page's process nothing but the wait.
"""

from __future__ import annotations

import io
import logging
import signal
import threading
import time
import zipfile
import zlib
from multiprocessing.connection import Connection

from chatpage.access.limits import (
    FOREIGN_MAX_DEPTH,
    FOREIGN_MAX_JSON_BYTES,
    FOREIGN_MAX_ZIP_MEMBERS,
)
from chatpage.data import chatgpt_export, claude_export, extraction
from chatpage.data.conversation import ErrorInfo
from chatpage.data.export import ImportRefused
from chatpage.data.foreign import Batch, Tally
from liaobots_core.framing import JsonTooDeep, parse_json

log = logging.getLogger(__name__)

MEMBER = "conversations.json"
CPU_SECONDS = 30  # a 30 MB conversations.json takes a few seconds (docs/safety.md)
WALL_SECONDS = 90.0
MEMORY_BYTES = 1024 * 1024 * 1024  # parsed JSON takes several times its size (docs/safety.md)
AT_ONCE = 1  # exports read at the same time by one app process: each may take a core
_READ_CHUNK = 1024 * 1024
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def export_bounds(
    cpu_seconds: int = CPU_SECONDS,
    wall_seconds: float = WALL_SECONDS,
    memory_bytes: int = MEMORY_BYTES,
) -> extraction.Bounds:
    """What reading one export may cost: file reading's bounds, with an export's defaults."""
    return extraction.Bounds(cpu_seconds, wall_seconds, memory_bytes)


_slots = threading.BoundedSemaphore(AT_ONCE)


def is_foreign(data: bytes) -> bool:
    """A .zip, or JSON whose top is a list: what ChatGPT and Claude export (ours is an object)."""
    if data.startswith(_ZIP_MAGIC):
        return True
    return data.lstrip(b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n")[:1] == b"["


def read(data: bytes) -> Batch:
    """The conversations of an export (a .zip or its JSON); `ImportRefused` says why not.

    In the calling process: the page calls `read_bounded`, which runs this in a child.
    """
    document = _json(conversations_json(data) if data.startswith(_ZIP_MAGIC) else data)
    if not isinstance(document, list):
        raise ImportRefused("import_wrong_format")
    first = next((c for c in document if isinstance(c, dict)), None)
    tally = Tally()
    for service in (chatgpt_export, claude_export):
        if service.looks_like(first):
            return Batch(service.SOURCE, service.read(document, tally), tally)
    raise ImportRefused("import_empty" if first is None else "import_wrong_format")


def conversations_json(data: bytes, *, max_bytes: int = FOREIGN_MAX_JSON_BYTES) -> bytes:
    """The bytes of the export's conversations.json, read within the bounds, or why not."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > FOREIGN_MAX_ZIP_MEMBERS:
                raise ImportRefused("import_zip_too_many", limit=FOREIGN_MAX_ZIP_MEMBERS)
            found = [m for m in members if _is_conversations(m.filename) and not m.is_dir()]
            if not found:
                raise ImportRefused("import_zip_without_conversations")
            member = min(found, key=lambda m: m.filename.count("/"))  # the top one
            if member.file_size > max_bytes:  # as the zip declares it
                raise ImportRefused("import_too_large", limit=max_bytes // 1024)
            with archive.open(member) as unpacking:  # and as it unpacks: the header may lie
                chunks: list[bytes] = []
                total = 0
                while chunk := unpacking.read(_READ_CHUNK):
                    total += len(chunk)
                    if total > max_bytes:
                        raise ImportRefused("import_too_large", limit=max_bytes // 1024)
                    chunks.append(chunk)
                return b"".join(chunks)
    except ImportRefused:  # a ValueError too: said above, as it is
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError):
        raise ImportRefused("import_bad_zip") from None
    except RuntimeError:  # a password-protected member
        raise ImportRefused("import_bad_zip") from None


def _is_conversations(name: str) -> bool:
    return name.replace("\\", "/").rsplit("/", 1)[-1] == MEMBER


def _json(data: bytes) -> object:
    if len(data) > FOREIGN_MAX_JSON_BYTES:
        raise ImportRefused("import_too_large", limit=FOREIGN_MAX_JSON_BYTES // 1024)
    try:
        return parse_json(data, max_depth=FOREIGN_MAX_DEPTH)
    except JsonTooDeep:
        raise ImportRefused("import_too_deep", limit=FOREIGN_MAX_DEPTH) from None
    except ValueError:  # not UTF-8 (or UTF-16/32), or not JSON
        raise ImportRefused("import_not_json") from None


# -- in a child process ----------------------------------------------------------------------


def read_bounded(data: bytes, bounds: extraction.Bounds | None = None) -> Batch:
    """`read` in a child process within `bounds`; `ImportRefused` says which bound it met."""
    bounds = bounds or export_bounds()
    if not _slots.acquire(timeout=bounds.wall_seconds):
        raise ImportRefused("import_busy")
    try:
        return _in_child(data, bounds, time.monotonic() + bounds.wall_seconds)
    finally:
        _slots.release()


def _in_child(data: bytes, bounds: extraction.Bounds, deadline: float) -> Batch:
    done = extraction.run_in_child(_child, (data, bounds), "chat-import-reader", deadline)
    if done.out_of_time:
        log.info("an export took longer than %.0f s to read; stopped", bounds.wall_seconds)
        raise ImportRefused("import_too_slow", limit=round(bounds.wall_seconds))
    if isinstance(done.answer, Batch):
        return done.answer
    if isinstance(done.answer, ErrorInfo):
        raise ImportRefused(done.answer.kind, limit=done.answer.limit)
    if done.exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise ImportRefused("import_too_slow", limit=bounds.cpu_seconds)
    log.warning("an export's reader ended without an answer (exit code %s)", done.exitcode)
    raise ImportRefused("import_too_big_inside", limit=bounds.memory_bytes // (1024 * 1024))


def _child(answer: Connection, data: bytes, bounds: extraction.Bounds) -> None:
    """In the child: limit itself, read the export, send back its conversations or why not."""
    extraction.limit_self(bounds)
    outcome: Batch | ErrorInfo
    try:
        outcome = read(data)
    except ImportRefused as refused:
        outcome = ErrorInfo(refused.key, limit=refused.values.get("limit"))
    except MemoryError:
        outcome = ErrorInfo("import_too_big_inside", limit=bounds.memory_bytes // (1024 * 1024))
    except extraction.OutOfTime:
        outcome = ErrorInfo("import_too_slow", limit=bounds.cpu_seconds)
    except Exception:  # a bug of the reader's on a file nobody foresaw: refused, logged
        log.exception("an export could not be read")
        outcome = ErrorInfo("import_wrong_format")
    try:
        answer.send(outcome)
    except MemoryError:  # the answer itself did not fit in what is left
        answer.send(ErrorInfo("import_too_big_inside", limit=bounds.memory_bytes // 2**20))
    answer.close()
