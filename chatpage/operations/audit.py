"""The audit log: who signed in, who was refused and why, which conversations went or came.

One JSON object per line, through the standard `logging` module (logger `liaobots_chat.audit`),
so an operator collects it as they collect any log: by default the lines go to stderr alone
(journald, `docker logs` or a log shipper takes them from there); once the operator configures
Python logging (a handler on the root logger) the records go there instead, and nothing is
written twice. Each line has `time` (ISO 8601, UTC), `event`, `who` (the visitor's owner key,
e.g. `header:alice@example.com`, `user:...`, `local`, `demo:<session>`; null when the page does
not know them) and the event's own fields.

Only kinds, ids and counts go in: never a message's text, a title, a search, a file's content
or an auth code. `audit` takes nothing but numbers, booleans and short strings, so a caller
cannot log a message by accident without noticing the cut.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from datetime import UTC, datetime

LOGGER_NAME = "liaobots_chat.audit"
FIELD_MAX_CHARS = 320  # an owner key's longest (chatpage/access/identity.py OWNER_MAX_CHARS)

Field = str | int | float | bool | None


class _ToStderrUnlessConfigured(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes the line to stderr unless the root logger has handlers of the operator's own.

    Records also propagate to the root logger, so a configured logging setup gets them there;
    this handler steps aside then, and each line is written once either way.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not logging.getLogger().handlers:
            self.stream = sys.stderr  # wherever stderr is now (a test, a redirect)
            super().emit(record)


log = logging.getLogger(LOGGER_NAME)
log.setLevel(logging.INFO)
if not any(isinstance(h, _ToStderrUnlessConfigured) for h in log.handlers):
    log.addHandler(_ToStderrUnlessConfigured())


def audit(event: str, who: str | None, **fields: Field) -> None:
    """Write one audit line: `event` by `who` (an owner key, never a code), with `fields`."""
    record: dict[str, Field] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": event,
        "who": _short(who),
    }
    for name, value in fields.items():
        record[name] = _short(value)
    log.info(json.dumps(record, ensure_ascii=False, allow_nan=False, default=str))


def _short(value: Field) -> Field:
    if isinstance(value, float) and not math.isfinite(value):  # not JSON
        return None
    if isinstance(value, str) and len(value) > FIELD_MAX_CHARS:
        return value[:FIELD_MAX_CHARS] + "…"
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)[:FIELD_MAX_CHARS]
