"""Imported by the file readers' fork server alone (`extraction._PRELOAD`), never by the page.

multiprocessing starts each child by running the parent's main script again, as
`__mp_main__`, unless the child already has it: under `streamlit run` (and AppTest) that script
is app.py, and running it imports Streamlit and the whole page: 1.1–1.5 s per attached file
here (`python bench/extraction.py --as-page`). A fork server is meant to have it already
(`__main__` in its preload), but CPython 3.11's fork server never receives the script's path
(it asks for a `main_path` that the preparation data names `init_main_from_path`), so no child
ever had it.

The readers' children run functions of `chatpage.data`, imported here already, and need
nothing of the page's script: in the fork server, and so in every child forked from it, setting
up `__main__` is skipped.
"""

from __future__ import annotations

from multiprocessing import spawn


def _without_main(_main: str) -> None:
    """A child of this fork server keeps the fork server's own `__main__`."""


spawn._fixup_main_from_path = _without_main  # type: ignore[attr-defined]
spawn._fixup_main_from_name = _without_main  # type: ignore[attr-defined]
