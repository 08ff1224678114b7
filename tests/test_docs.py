"""The docs agree with the code: the architecture page names every module, and no link is dead.

A newcomer reads `docs/architecture.md` to find where things live, so it must name each module
of the page and the client by its path, and only modules that exist. The README stays short
(the rest is in `docs/`), and every relative link in it and in `docs/` reaches a file, and a
heading where it names one.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PACKAGES = ("chatpage", "liaobots_core")
NOT_NAMED = {"__init__.py", "__main__.py"}  # a package's own files need no paragraph
README_MAX_LINES = 200

MODULE_PATH = re.compile(r"`((?:chatpage|liaobots_core)/[\w/]*\.py)`")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)


def named_modules() -> set[str]:
    return set(MODULE_PATH.findall(ARCHITECTURE.read_text(encoding="utf-8")))


def existing_modules() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.name not in NOT_NAMED
    }


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def prose(markdown: str) -> str:
    """The text outside code blocks and code spans, where a link is a link."""
    return CODE_SPAN.sub("", FENCE.sub("", markdown))


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the file's headings: lower case, punctuation dropped,
    spaces as hyphens, a repeated one numbered."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(doc: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(doc.read_text(encoding="utf-8")))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto: ...
    ]


def test_every_module_the_architecture_page_names_exists() -> None:
    missing = sorted(path for path in named_modules() if not (ROOT / path).is_file())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_the_architecture_page_names_every_module() -> None:
    unnamed = sorted(existing_modules() - named_modules())
    assert not unnamed, f"docs/architecture.md does not name these modules: {unnamed}"


def test_the_readme_has_at_most_200_lines() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it to {README_MAX_LINES} and move the rest "
        "to docs/"
    )


def test_the_readme_gives_the_command_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "exec ./scripts/test" in ci
    assert re.search(r"^\./scripts/test\s", readme, re.MULTILINE), (
        "the README's test line (./scripts/test) is what CI runs: keep it"
    )


def test_every_relative_link_in_the_docs_points_to_an_existing_file() -> None:
    dead = []
    for doc in doc_files():
        for target in relative_links(doc):
            path = target.split("#", 1)[0]
            if path and not (doc.parent / path).exists():
                dead.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not dead, f"links to files that do not exist: {dead}"


def test_every_link_to_a_heading_finds_that_heading() -> None:
    dead = []
    for doc in doc_files():
        for target in relative_links(doc):
            path, _, anchor = target.partition("#")
            linked = (doc.parent / path) if path else doc
            if not (anchor and linked.suffix == ".md" and linked.is_file()):
                continue
            if anchor not in anchors(linked.read_text(encoding="utf-8")):
                dead.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not dead, f"links to headings that do not exist: {dead}"
