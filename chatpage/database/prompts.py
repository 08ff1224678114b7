"""Saved system prompts: a person's own library, beside a few built in.

A prompt worth keeping ("review this code", "answer as a lawyer") is chosen again and again,
so it is saved once, by name, and applied to a conversation from the sidebar: choosing one
sets the conversation's system prompt, which then stays with that conversation. Each person
sees only their own saved prompts; the built-in ones are everyone's, in the page's language.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, delete, insert, select

from chatpage.database.schema import PROMPT_NAME_CHARS, saved_prompts
from chatpage.i18n import t

NAME_MAX_CHARS = PROMPT_NAME_CHARS
PROMPTS_MAX = 200  # saved prompts one person may keep
BUILTIN = ("translate", "code_review", "summarise")  # their names and texts are in i18n


@dataclass(frozen=True)
class Prompt:
    id: str  # "builtin:<key>" for the built-in ones
    name: str
    text: str

    @property
    def builtin(self) -> bool:
        return self.id.startswith("builtin:")


def builtin_prompts(lang: str) -> list[Prompt]:
    return [
        Prompt(f"builtin:{key}", t(lang, f"prompt_{key}_name"), t(lang, f"prompt_{key}_text"))
        for key in BUILTIN
    ]


class PromptLibrary:
    """Reads and writes of saved prompts, on the store's database."""

    def __init__(self, engine: Engine, writes: Engine) -> None:
        self._engine = engine
        self._writes = writes

    def list(self, owner: str) -> list[Prompt]:
        """The person's saved prompts, by name."""
        with self._engine.connect() as db:
            rows = db.execute(_LISTED, {"of_owner": owner}).all()
        return [Prompt(*row) for row in rows]

    def save(self, owner: str, name: str, text: str) -> Prompt | None:
        """Keep a prompt under a name; None when the person already keeps as many as allowed."""
        prompt = Prompt(secrets.token_hex(8), name.strip()[:NAME_MAX_CHARS], text)
        with self._writes.begin() as db:
            kept = db.execute(
                select(saved_prompts.c.id).where(saved_prompts.c.owner == owner).limit(PROMPTS_MAX)
            ).all()
            if len(kept) >= PROMPTS_MAX:
                return None
            db.execute(
                insert(saved_prompts).values(
                    id=prompt.id,
                    owner=owner,
                    name=prompt.name,
                    text=prompt.text,
                    created_at=time.time(),
                )
            )
        return prompt

    def delete(self, owner: str, prompt_id: str) -> bool:
        with self._writes.begin() as db:
            result = db.execute(
                delete(saved_prompts).where(
                    saved_prompts.c.id == prompt_id, saved_prompts.c.owner == owner
                )
            )
            return result.rowcount > 0


# Read on every page load of an empty chat (its starters): built once, as building a
# statement costs about as much as running it on SQLite.
_LISTED = (
    select(saved_prompts.c.id, saved_prompts.c.name, saved_prompts.c.text)
    .where(saved_prompts.c.owner == bindparam("of_owner"))
    .order_by(saved_prompts.c.name)
    .limit(PROMPTS_MAX)
)
