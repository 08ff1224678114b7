"""Every "no" the page says to what a person asked, as one exception tree.

    Refused               not done; `error` holds the kind and figures the page words
    ├── Busy              the person or the process writes all the replies allowed at once
    ├── OverLimit         the person has spent what they may this day or month
    ├── NoBalance         the service's balance is used up: nobody sends
    ├── FileRefused       a file that cannot be sent (chatpage/data/attachments.py)
    ├── ImportRefused     a file that cannot be imported (chatpage/data/export.py)
    └── RatingRefused     a reply not the person's, or not finished (chatpage/database/ratings.py)

A refusal never loses what the person wrote: the page shows it with the reason, and Retry
works once allowed. The words live in `chatpage/i18n` (its .po catalogs); here only the kind
and its figures.
"""

from __future__ import annotations

from chatpage.data.conversation import ErrorInfo


class Refused(ValueError):
    """Not done; `error` is what the page explains and the audit log records (never text)."""

    def __init__(self, error: ErrorInfo) -> None:
        super().__init__(error.kind)
        self.error = error


class Busy(Refused):
    """No room for another reply: `kind` says whose bound was reached ("person", "process")."""

    def __init__(self, kind: str, limit: int) -> None:
        super().__init__(ErrorInfo(f"busy_{kind}", limit=limit))
        self.kind, self.limit = kind, limit


class OverLimit(Refused):
    """The person has spent what they may this day or month (or it cannot be counted now)."""


class NoBalance(Refused):
    """No message can be sent: the service's balance is used up."""

    KIND = "balance_gone"

    def __init__(self) -> None:
        super().__init__(ErrorInfo(self.KIND))
