"""What a request must pass before it may spend the operator's code.

Every check runs before anything is sent upstream; a refusal becomes a reply that failed
with a kind the page explains, so the person's message stays and Retry works once allowed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from chatpage.data.conversation import ErrorInfo
from chatpage.database.conversations import ConversationStore
from chatpage.operations import metrics
from chatpage.settings import Settings

Preflight = Callable[[list[dict[str, str]]], ErrorInfo | None]
MINUTE, DAY = 60.0, 86_400.0
log = logging.getLogger(__name__)


@dataclass
class Gate:
    """The checks for one visitor: message length always, demo limits in a public demo."""

    settings: Settings
    store: ConversationStore
    quota_key: str | None
    clock: Callable[[], float] = time.time

    def __call__(self, wire: list[dict[str, str]]) -> ErrorInfo | None:
        limit = self.settings.message_limit
        question = wire[-1]["content"] if wire else ""
        if len(question) > limit:
            return ErrorInfo("question_too_long", limit=limit, size=len(question))
        if not self.settings.public_demo or self.quota_key is None:
            return None
        demo = self.settings.demo
        if sum(1 for turn in wire if turn["role"] == "user") > demo.max_turns:
            return ErrorInfo("demo_turns", limit=demo.max_turns)
        try:
            wait = self.store.demo_use.take(
                self.quota_key, self.clock(), [(MINUTE, demo.per_minute), (DAY, demo.per_day)]
            )
        except SQLAlchemyError:  # cannot count, so cannot allow: the operator's code is at stake
            log.exception("could not count demo use")
            metrics.write_failed("demo_use")
            return ErrorInfo("demo_unavailable")
        if wait is None:
            return None
        if wait <= MINUTE:
            return ErrorInfo("demo_per_minute", retry_after=wait, limit=demo.per_minute)
        return ErrorInfo("demo_per_day", retry_after=wait, limit=demo.per_day)
