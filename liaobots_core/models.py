"""The model catalog: what a chat request names, and how much text it may carry.

The service wants the whole model object in every `/api/chat` body, not only its id,
so a `Model` keeps every key the server gave us (`extra`) and hands them back unchanged.

A size of 0, or none at all, means "not stated" (the later service lists every model with
`"maxLength": 0, "tokenLimit": 0`): the model is kept, and history is fitted to
`UNSTATED_MAX_LENGTH` characters, so a conversation is never emptied for want of a number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import UnknownModelError

DEFAULT_MODEL_ID = "gpt-3.5-turbo"
UNSTATED_MAX_LENGTH = 12000
"""The character budget of a model whose list entry states none: the smallest the service has
ever listed (GPT-3.5), so a conversation fitted to it fits whatever the model really takes."""
PROVIDER_MAX_CHARS = 60


@dataclass(frozen=True)
class Model:
    """One chat model as the service describes it."""

    id: str
    name: str
    max_length: int
    token_limit: int
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def provider(self) -> str | None:
        """Who makes the model (`Anthropic`), when the list says; printable and short."""
        provider = self.extra.get("provider")
        if not isinstance(provider, str):
            return None
        provider = " ".join("".join(c if c.isprintable() else " " for c in provider).split())
        return provider[:PROVIDER_MAX_CHARS] or None

    @property
    def label(self) -> str:
        """The name a person picks by: the provider beside it when the list names one."""
        provider = self.provider
        if provider and provider.lower() not in self.name.lower():
            return f"{self.name} · {provider}"
        return self.name

    def to_wire(self) -> dict[str, Any]:
        """The object sent as `model` in a chat request (server keys kept as they came).

        A size the list did not state goes back as the list gave it (0), not as the budget
        this client chose for it.
        """
        wire = dict(self.extra)
        wire.update(id=self.id, name=self.name)
        wire.setdefault("maxLength", self.max_length)
        wire.setdefault("tokenLimit", self.token_limit)
        return wire

    def to_wire_choice(self) -> dict[str, str]:
        """The model as the later service names it: `{"modelId", "provider"}` in `models`."""
        choice = {"modelId": self.id}
        if self.provider:
            choice["provider"] = self.provider
        return choice

    @classmethod
    def from_wire(cls, data: Any) -> Model:
        """Build a model from one entry of `/api/models`; raises ValueError when it is unusable.

        The service is trusted only so far: an entry without a usable id, or whose sizes are
        negative or not finite (`1e999` parses to infinity), is refused, never half-read.
        A size of 0 or none is not stated: the budget is `UNSTATED_MAX_LENGTH` and the 0 is
        kept to be sent back. A missing or empty name shows the id instead.
        """
        if not isinstance(data, Mapping):
            raise ValueError("an entry is not an object")
        model_id = data.get("id")
        if not isinstance(model_id, str) or not model_id.strip():
            raise ValueError("an entry has no id")
        if len(model_id) > MODEL_ID_MAX_CHARS or not model_id.isprintable():
            raise ValueError("an id is too long or holds control characters")
        max_length = _size(data.get("maxLength"), "maxLength") or UNSTATED_MAX_LENGTH
        token_limit = _size(data.get("tokenLimit"), "tokenLimit") or max_length // 3 or 1
        name = data.get("name")
        if isinstance(name, str):  # control characters, lone surrogates and the like as spaces
            name = " ".join("".join(c if c.isprintable() else " " for c in name).split())
        # A stated size is this model's own; an unstated one (0) is kept to go back as it came.
        stated = {k for k in ("maxLength", "tokenLimit") if _size(data.get(k), k)}
        extra = {k: v for k, v in data.items() if k not in {"id", "name", *stated}}
        return cls(
            id=model_id,
            name=name[:MODEL_ID_MAX_CHARS] if isinstance(name, str) and name else model_id,
            max_length=max_length,
            token_limit=token_limit,
            extra=extra,
        )


MODEL_ID_MAX_CHARS = 200  # the page stores a conversation's model id in 200 characters
_SIZE_MAX = 10**12  # characters or tokens; far beyond any model, and safe in every database


def _size(value: Any, key: str) -> int | None:
    """A whole size from the wire (a number or a string of digits); None when not stated (0 or
    absent); ValueError for anything else (negative, infinite, NaN, a bool, text)."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 13:
        value = int(value.strip())
    # A range check, not int(): infinity and NaN fail it, and a 400-digit int is never floated.
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and 0 <= value <= _SIZE_MAX:
        return int(value) or None
    raise ValueError(f"a {key} is not a positive finite number")


def models_from_wire(entries: Iterable[Any]) -> tuple[list[Model], list[str]]:
    """The usable models of a `/api/models` list, and why each other entry was skipped.

    Reasons are this module's own words, never text from the service, so they are safe to log.
    An id seen before is skipped too: the first entry with it wins.
    """
    models: list[Model] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        try:
            model = Model.from_wire(entry)
        except ValueError as reason:
            skipped.append(str(reason))
            continue
        if model.id in seen:
            skipped.append("an id is repeated")
            continue
        seen.add(model.id)
        models.append(model)
    return models, skipped


BUILTIN_MODELS: tuple[Model, ...] = (
    Model(id="gpt-3.5-turbo", name="GPT-3.5", max_length=12000, token_limit=4000),
    Model(id="gpt-4", name="GPT-4", max_length=24000, token_limit=8000),
)


def find_model(model_id: str, models: Iterable[Model] = BUILTIN_MODELS) -> Model:
    """Return the model with this id, or raise `UnknownModelError` naming the valid ones."""
    models = tuple(models)
    for model in models:
        if model.id == model_id:
            return model
    raise UnknownModelError(model_id, [m.id for m in models])
