"""A download made for one person is still there when the browser fetches it, whatever other
sessions run meanwhile: Streamlit's own media file manager, with the page's hold on it."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from chatpage import downloads


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def held_manager(clock: Clock) -> MediaFileManager:
    manager = MediaFileManager(MemoryMediaFileStorage("/media"))
    assert downloads.keep_made_files(manager, clock)
    return manager


def click(manager: MediaFileManager, text: str, coordinates: str = "1.0") -> str:
    """A download button drawn by a page run, then clicked: the made file's id."""
    placeholder = manager.add_deferred(
        lambda: text, "text/markdown", coordinates, file_name="chat.md"
    )
    url = manager.execute_deferred(placeholder)
    return PurePosixPath(url).stem


def other_sessions_run(manager: MediaFileManager, runs: int = 2) -> None:
    """The orphan sweep that ends every page run of every session in the process."""
    for _ in range(runs):
        manager.remove_orphaned_files()


def fetched(manager: MediaFileManager, file_id: str) -> bytes | None:
    file = manager.read_file(file_id)
    return None if file is None else file.content


def test_a_made_download_survives_other_sessions_runs_until_it_is_fetched() -> None:
    manager = held_manager(Clock())
    made = click(manager, "# Щи да каша 🥣")
    other_sessions_run(manager, runs=5)
    assert fetched(manager, made) == "# Щи да каша 🥣".encode()


def test_a_made_download_is_let_go_a_while_after_it_was_made() -> None:
    clock = Clock()
    manager = held_manager(clock)
    made = click(manager, "old")
    clock.now += downloads.KEPT_SECONDS + 1
    other_sessions_run(manager)
    assert fetched(manager, made) is None


def test_clicks_never_hold_more_than_the_bound_the_oldest_let_go_first() -> None:
    clock = Clock()
    manager = held_manager(clock)
    made = []
    for n in range(downloads.MOST_KEPT + 1):
        clock.now += 0.01
        made.append(click(manager, f"download {n}", coordinates=f"1.{n}"))
    other_sessions_run(manager)
    assert fetched(manager, made[0]) is None
    assert all(fetched(manager, file_id) is not None for file_id in made[1:])


def test_hooking_twice_hooks_once() -> None:
    clock = Clock()
    manager = held_manager(clock)
    make = manager.execute_deferred
    assert downloads.keep_made_files(manager, clock)
    assert manager.execute_deferred is make


def test_a_streamlit_without_what_is_hooked_keeps_its_own_downloads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Other:
        def execute_deferred(self, file_id: str) -> str:
            return file_id

    other = Other()
    assert not downloads.keep_made_files(other)
    assert "downloads not held" in caplog.text
    assert other.execute_deferred("x") == "x"
