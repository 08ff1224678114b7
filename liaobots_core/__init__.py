"""A streaming client for the Liaobots chat API.

from liaobots_core import LiaobotsClient

client = LiaobotsClient(auth_code="...")
for text in client.stream_chat([{"role": "user", "content": "Привет"}], model="gpt-4"):
    print(text, end="", flush=True)
"""

from .client import DEFAULT_BASE_URL, ChatStream, LiaobotsClient, UserInfo
from .compat import _create_completion
from .errors import (
    AuthError,
    ConfigurationError,
    ConnectionFailedError,
    GuestRefusedError,
    HumanCheckError,
    InsufficientBalanceError,
    LiaobotsError,
    MissingAuthCodeError,
    ProtocolError,
    RateLimitError,
    StreamTimeoutError,
    UnknownModelError,
    UpstreamError,
)
from .history import FittedHistory, fit_history
from .models import BUILTIN_MODELS, DEFAULT_MODEL_ID, Model, find_model

__all__ = [
    "BUILTIN_MODELS",
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL_ID",
    "AuthError",
    "ChatStream",
    "ConfigurationError",
    "ConnectionFailedError",
    "FittedHistory",
    "GuestRefusedError",
    "HumanCheckError",
    "InsufficientBalanceError",
    "LiaobotsClient",
    "LiaobotsError",
    "MissingAuthCodeError",
    "Model",
    "ProtocolError",
    "RateLimitError",
    "StreamTimeoutError",
    "UnknownModelError",
    "UpstreamError",
    "UserInfo",
    "_create_completion",
    "find_model",
    "fit_history",
]
