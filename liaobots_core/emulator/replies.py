"""What the emulator says: a deterministic markdown reply, and the human-check page.

The reply is built from the request alone (same request, same bytes) so tests can compare it
exactly, and it is plainly marked as coming from the emulator so an offline demo never passes
for a real model. Its content exercises a markdown renderer and a UTF-8 decoder at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OFFLINE_NOTICE = (
    "*Offline demo — this reply comes from the local Liaobots emulator, not from a model.*"
)
MIXED_SCRIPTS = "Привет · 你好 · 👋"
QUOTE_CHARS = 200
"""How many characters of the last user message the reply quotes."""

_SAMPLE = f"""Here is some sample content so you can see how a reply renders:

- **Bold**, *italic* and `inline code`
- Accented and non-Latin words: café, Ёжик, 東京
- Streaming keeps every character intact, even when a write splits one

```python
def greet(name: str) -> str:
    return f"Hello, {{name}}!"
```

| language | greeting |
|---|---|
| Russian | Привет |
| Chinese | 你好 |
| Emoji | 👋 |

{MIXED_SCRIPTS}"""

HUMAN_CHECK_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Just a moment...</title></head>
<body>
<h1>Checking your browser before accessing the site.</h1>
<p>Please enable JavaScript and cookies to continue.</p>
</body>
</html>
"""


@dataclass(frozen=True)
class ReplyText:
    """A reply as `unit * repeats + tail`, so a 50-million-character reply costs no loop."""

    unit: str
    repeats: int = 1
    tail: str = ""

    def __len__(self) -> int:
        return len(self.unit) * self.repeats + len(self.tail)

    def __str__(self) -> str:
        return self.unit * self.repeats + self.tail

    def encode(self) -> bytes:
        """UTF-8 bytes, encoding the repeated unit only once."""
        return self.unit.encode() * self.repeats + self.tail.encode()


def reply_text(
    reply: str | None,
    reply_chars: int | None,
    messages: Sequence[Mapping[str, Any]],
    model: Any,
    prompt: Any,
) -> ReplyText:
    """The reply for one request: `reply` exactly, or the generated one.

    With `reply_chars`, the text (`reply` if non-empty, else the generated reply followed by a
    blank line) is repeated and cut to exactly that many characters.
    """
    if reply_chars is None:
        return ReplyText(reply if reply is not None else generated_reply(messages, model, prompt))
    unit = reply or generated_reply(messages, model, prompt) + "\n\n"
    repeats, rest = divmod(reply_chars, len(unit))
    return ReplyText(unit, repeats, unit[:rest])


def generated_reply(messages: Sequence[Mapping[str, Any]], model: Any, prompt: Any) -> str:
    """A markdown reply that quotes the last user message and describes the request."""
    last_user = next(
        (m.get("content") for m in reversed(messages) if m.get("role") == "user"), None
    )
    if last_user is None:
        quote = "> (no user message)"
    else:
        text = last_user if isinstance(last_user, str) else str(last_user)
        cut = text[:QUOTE_CHARS] + ("…" if len(text) > QUOTE_CHARS else "")
        quote = "\n".join(f"> {line}" if line else ">" for line in cut.split("\n"))
    has_system = (isinstance(prompt, str) and prompt.strip() != "") or any(
        m.get("role") == "system" for m in messages
    )
    count = len(messages)
    return (
        f"{OFFLINE_NOTICE}\n\n"
        f"You wrote:\n\n{quote}\n\n"
        f"You asked {_describe_model(model)}. The conversation had {count} "
        f"message{'' if count == 1 else 's'} and {'a' if has_system else 'no'} system prompt.\n\n"
        f"{_SAMPLE}"
    )


def _describe_model(model: Any) -> str:
    if isinstance(model, Mapping):
        model_id, name = model.get("id"), model.get("name")
        if isinstance(name, str) and name and isinstance(model_id, str) and model_id:
            return f"**{name}** (`{model_id}`)"
        model = model_id or name
    if isinstance(model, str) and model:
        return f"`{model}`"
    return "an unnamed model"
