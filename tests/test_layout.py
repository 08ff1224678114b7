"""Where things live: a folder per question, none crowded, plain modules free of the page.

These hold the layout that docs/architecture.md describes, so that it does not drift back
into one flat folder: a new module goes where its question is answered.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "chatpage"
FOLDERS = sorted(p.parent for p in PACKAGE.rglob("__init__.py"))
PLAIN = ("data", "database", "operations")  # no Streamlit: usable from tools and tests alike


def modules(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__")


def is_python(path: Path) -> bool:
    """A module, or a script whose first line runs Python."""
    if path.suffix == ".py":
        return True
    with path.open("rb") as file:
        return path.suffix == "" and b"python" in file.readline()


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_folder_of_the_page_holds_more_than_fifteen_modules(folder: Path) -> None:
    assert len(modules(folder)) <= 15, modules(folder)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_two_modules_of_a_folder_differ_by_a_plural(folder: Path) -> None:
    names = set(modules(folder))
    assert not {n for n in names if n + "s" in names}


@pytest.mark.parametrize("folder", PLAIN)
def test_plain_folders_do_not_import_streamlit(folder: str) -> None:
    drawing = [
        str(path.relative_to(ROOT))
        for path in (PACKAGE / folder).glob("*.py")
        if any(re.match(r"streamlit\b", name) for name in imported(path))
    ]
    assert drawing == []


@pytest.mark.parametrize("tool", ["bench", "scripts", "testkit"])
def test_tools_import_nothing_from_the_tests(tool: str) -> None:
    sources = [p for p in (ROOT / tool).rglob("*") if p.is_file() and is_python(p)]
    leaning = [
        str(path.relative_to(ROOT))
        for path in sources
        if any(re.match(r"tests\b", name) for name in imported(path))
    ]
    assert leaning == []
