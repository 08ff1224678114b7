"""The model catalog: what a chat request names, and how much text it may carry.

The service wants the whole model object in every `/api/chat` body, not only its id,
so a `Model` keeps every key the server gave us (`extra`) and hands them back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import UnknownModelError

DEFAULT_MODEL_ID = "gpt-3.5-turbo"


@dataclass(frozen=True)
class Model:
    """One chat model as the service describes it."""

    id: str
    name: str
    max_length: int
    token_limit: int
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_wire(self) -> dict[str, Any]:
        """The object sent as `model` in a chat request (server keys kept as they came)."""
        wire = dict(self.extra)
        wire.update(
            id=self.id, name=self.name, maxLength=self.max_length, tokenLimit=self.token_limit
        )
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Model:
        """Build a model from one entry of `/api/models`; raises ValueError when it is unusable."""
        model_id = data.get("id")
        if not isinstance(model_id, str) or not model_id:
            raise ValueError("model entry has no id")
        name = data.get("name")
        max_length = _positive_int(data.get("maxLength"), default=12000)
        token_limit = _positive_int(data.get("tokenLimit"), default=max_length // 3)
        extra = {
            k: v for k, v in data.items() if k not in {"id", "name", "maxLength", "tokenLimit"}
        }
        return cls(
            id=model_id,
            name=name if isinstance(name, str) and name else model_id,
            max_length=max_length,
            token_limit=token_limit,
            extra=extra,
        )


def _positive_int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)) and value > 0:
        return int(value)
    return default


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
