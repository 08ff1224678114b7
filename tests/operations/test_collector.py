"""The garbage collector of a long-lived page process: the start kept out, every pause measured."""

from __future__ import annotations

import gc

from prometheus_client import REGISTRY

from chatpage.operations import collector


def _collections(generation: str) -> float:
    value = REGISTRY.get_sample_value(
        "liaobots_chat_gc_pause_seconds_count", {"generation": generation}
    )
    return value or 0.0


def test_settling_keeps_the_start_out_of_collections_and_measures_each_pause() -> None:
    collector.settle()
    collector.settle()  # again: nothing more
    assert gc.get_freeze_count() > 10_000  # the modules and objects of the start
    assert gc.callbacks.count(collector._timed) == 1
    before = _collections("2")
    gc.collect()
    assert _collections("2") == before + 1
