from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit import config
from streamlit.runtime.runtime import Runtime


@pytest.fixture
def fresh_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Streamlit's runtime is one per process: each test starts its own, configured as the
    page's `.streamlit/config.toml` has it."""
    monkeypatch.setattr(Runtime, "_instance", None)
    fast_reruns = config.get_option("runner.fastReruns")
    config.set_option("runner.fastReruns", False)
    yield
    config.set_option("runner.fastReruns", fast_reruns)
