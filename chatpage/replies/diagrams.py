"""A finished reply's Mermaid diagrams, drawn, with their source one click away.

Models write diagrams as ```mermaid blocks; every peer draws them. Here a finished reply is
cut at its top-level ```mermaid blocks: each block that passes a bounded check is drawn with
`st.mermaid_chart`, its source in a "Source" expander under it; the rest of the reply, and any
block that does not pass, is markdown as always (`safe_markdown.show`, which shows every
Mermaid block as code). While a reply streams, its blocks are code too (`FenceGuard`).

The check is the server's share of "does it parse": the block must be closed, start (after
blank lines, `%%` comments and a `---` front matter) with a diagram type Mermaid knows, and
stay within MAX_CHARS and MAX_LINES, with no control characters; at most MAX_DIAGRAMS a reply.
Anything else (a made-up type, a block cut off, something huge) stays code. A block that has
a known type but a mistake further on is for Mermaid to find, in the browser: Streamlit then
shows "Mermaid diagram error: …" in its place, and the Source under it holds the block.

An expander, not tabs: tabs drawn where the streamed reply was (one `st.empty`) made
Streamlit 1.67's frontend fail ("Cannot set a node at a delta path") in Chromium, after an
earlier reply in the session; an expander does not.

What a diagram may do in the browser is Streamlit's Mermaid set-up: docs/safety.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from chatpage.i18n import t
from chatpage.replies.blocks import _FENCE, _closes
from chatpage.views.safe_markdown import show

MAX_CHARS = 8_000  # a diagram's source, at most
MAX_LINES = 300
MAX_DIAGRAMS = 10  # drawn per reply; any more stay code
# The diagram types of Mermaid 11, as a block's first statement names them.
DIAGRAM_TYPES = (
    "flowchart",
    "graph",
    "sequenceDiagram",
    "classDiagram",
    "classDiagram-v2",
    "stateDiagram",
    "stateDiagram-v2",
    "erDiagram",
    "journey",
    "gantt",
    "pie",
    "quadrantChart",
    "requirementDiagram",
    "gitGraph",
    "C4Context",
    "C4Container",
    "C4Component",
    "C4Dynamic",
    "C4Deployment",
    "mindmap",
    "timeline",
    "sankey-beta",
    "xychart-beta",
    "block-beta",
    "packet-beta",
    "kanban",
    "architecture-beta",
    "radar-beta",
)
_HEADER = re.compile("(?:" + "|".join(map(re.escape, DIAGRAM_TYPES)) + r")(?![\w-])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FRONT_MATTER_LINES = 30


@dataclass(frozen=True)
class Diagram:
    """A ```mermaid block to draw: its source, without the fences."""

    source: str


def pieces(text: str) -> list[str | Diagram]:
    """The reply as markdown pieces and the diagrams between them, in order."""
    if "mermaid" not in text.lower():
        return [text]
    out: list[str | Diagram] = []
    markdown: list[str] = []
    block: list[str] = []
    fence: str | None = None
    drawing = False  # the open fence is a ```mermaid one at the margin
    for line in text.splitlines(keepends=True):
        if fence is None:
            if _FENCE.match(line):
                fence = line
                drawing = _opens_diagram(line) and _count(out) < MAX_DIAGRAMS
                block = [line]
            else:
                markdown.append(line)
            continue
        block.append(line)
        if not _closes(fence, line):
            continue
        source = "".join(block[1:-1])
        if drawing and drawable(source):
            if markdown:
                out.append("".join(markdown))
                markdown = []
            out.append(Diagram(source.rstrip("\n")))
        else:
            markdown.extend(block)
        fence, block = None, []
    markdown.extend(block)  # a block not closed: text, as it came
    if markdown:
        out.append("".join(markdown))
    return out


def drawable(source: str) -> bool:
    """Whether a block's source is worth handing to Mermaid: bounded, of a known type."""
    if len(source) > MAX_CHARS or source.count("\n") >= MAX_LINES or _CONTROL.search(source):
        return False
    if "```" in source or "~~~" in source:
        return False
    lines = source.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if first < len(lines) and lines[first].strip() == "---":  # front matter: a title, a config
        end = next(
            (
                i
                for i in range(first + 1, min(len(lines), first + _FRONT_MATTER_LINES))
                if lines[i].strip() == "---"
            ),
            None,
        )
        if end is None:
            return False
        first = end + 1
    for line in lines[first:]:
        statement = line.strip()
        if statement and not statement.startswith("%%"):
            return _HEADER.match(statement) is not None
    return False


def show_reply(text: str, lang: str, where: DeltaGenerator | None = None) -> None:
    """A finished reply: its markdown, and its diagrams drawn, each with its source."""
    parts = pieces(text)
    if not any(isinstance(part, Diagram) for part in parts):
        show(text, where)
        return
    with (where or st).container():
        for part in parts:
            if isinstance(part, Diagram):
                st.mermaid_chart(part.source)
                with st.expander(t(lang, "diagram_source"), icon=":material/code:"):
                    st.code(part.source, language=None)
            else:
                show(part)


def _opens_diagram(line: str) -> bool:
    """A fence at the margin whose info string is `mermaid` (any case)."""
    match = _FENCE.match(line)
    if match is None or match.start(1) != 0:
        return False
    info = line[match.end() :].split()
    return bool(info) and info[0].lower() == "mermaid"


def _count(out: list[str | Diagram]) -> int:
    return sum(isinstance(part, Diagram) for part in out)
