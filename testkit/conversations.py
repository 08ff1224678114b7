"""Conversations of any length, stored as the page's import stores them, for the tests and the
benchmarks that open them."""

from __future__ import annotations

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Conversation, Message
from chatpage.data.export import from_json, to_json
from chatpage.database.conversations import ConversationStore


def the_end(messages: int) -> str:
    """The words that close the last message of `recipe(messages)`."""
    return f"the end ({messages})"


def recipe(messages: int, title: str) -> Conversation:
    """`messages` turns of markdown as a model writes it (a heading, bold, a list, code), the
    last one ending with `the_end(messages)`."""
    chat = Conversation(model_id="gpt-4o", title=title)
    for n in range(messages // 2):
        chat.add_user(f"Question {n}: how does step {n} of the recipe go, and why?")
        chat.append(
            Message(
                "assistant",
                f"## Step {n}\n\nStir the **soup** for {n % 7 + 2} minutes, then:\n\n"
                "- add the beetroot, cut small;\n- keep the heat low;\n- taste, and salt.\n\n"
                f"```python\nprint('stir', {n})\n```\n\nIt keeps the colour bright.",
            )
        )
    last = chat.last
    assert last is not None
    last.text += "\n\n" + the_end(messages)
    return chat


def imported(database_url: str, chat: Conversation, owner: str = LOCAL_OWNER) -> str:
    """Store `chat` as the page's import does (from its JSON export, under new ids); its id."""
    copy = from_json(to_json(chat).encode())
    store = ConversationStore(database_url)
    try:
        if not store.create(copy, owner):
            raise RuntimeError(f"the import of {chat.title!r} was not stored")
    finally:
        store.close()
    return copy.id
