"""Handing one owner key's conversations to another: the operator's tool after a key changed.

An e-mail address names a signed-in person only when their provider verified it
(chatpage/access/identity.py). Before, an address without `email_verified` was taken as
proven, so the people of a provider that sends no such claim (Microsoft Entra) have their earlier
conversations under `user:<address>`, while they now sign in as `user:<issuer>|<subject>`.
Nothing moves on its own (the address was never proven to be theirs); once the operator knows
the person, whose `sign_in` audit line names their new key, they hand the old key over:

    python -m chatpage.operations.owners 'user:alice@corp.example' \\
        'user:https://login.microsoftonline.com/<tenant>/v2.0|<subject>'

Conversations (their messages with them), shared links, saved prompts and the usage record
move in one transaction; nothing is deleted. The database is DATABASE_URL's, as the page's.
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import update

from chatpage.access.limits import CONTROL_CHARS
from chatpage.database.conversations import ConversationStore, default_url
from chatpage.database.schema import conversations, reply_usage, saved_prompts, shared_links
from chatpage.operations.audit import audit
from chatpage.settings import load_settings

OWNER_MAX_CHARS = 320
TABLES = (conversations, shared_links, saved_prompts, reply_usage)


def hand_over(store: ConversationStore, old: str, new: str) -> dict[str, int]:
    """Give everything stored under owner `old` to owner `new`; rows moved, by table."""
    for key in (old, new):
        if not key or len(key) > OWNER_MAX_CHARS or CONTROL_CHARS.search(key):
            raise ValueError(f"not an owner key: {key[:60]!r}")
    if old == new:
        raise ValueError("the two owner keys are the same")
    moved: dict[str, int] = {}
    with store.engine.begin() as db:
        for table in TABLES:
            result = db.execute(update(table).where(table.c.owner == old).values(owner=new))
            moved[table.name] = result.rowcount
    audit("owner_handed_over", new, previous=old, **moved)
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chatpage.operations.owners", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("old", help="the owner key the conversations are under now")
    parser.add_argument("new", help="the owner key of the person who gets them")
    args = parser.parse_args(argv)
    settings = load_settings([os.environ])
    store = ConversationStore(settings.database_url or default_url(settings.data_dir))
    try:
        moved = hand_over(store, args.old, args.new)
    except ValueError as problem:
        parser.error(str(problem))
    finally:
        store.close()
    print(", ".join(f"{table}: {count}" for table, count in moved.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
