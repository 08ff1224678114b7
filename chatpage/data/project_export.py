"""A conversation's project in its export file, and read back from one.

The page's export (data/export.py) gains an optional top-level `project` beside `conversation`:
its name, instructions and reference files (name, size, extracted text). Nothing else in the
format changes, so a file made before projects imports as before, and one made with a project
imports on a page that does not know them (the key is ignored). Importing, the conversation
joins the person's project of that name, made from the file when they have none.

What the file says of its project is checked like the rest of it (bounded, the one rule for
control characters); a damaged project part is dropped, and the conversation imports alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chatpage.access.limits import IMPORT_MAX_BYTES, IMPORT_MAX_DEPTH, without_controls
from chatpage.data.conversation import Conversation
from chatpage.data.export import to_json
from chatpage.data.project_prompt import (
    FILES_MAX,
    FILES_MAX_CHARS,
    INSTRUCTIONS_MAX_CHARS,
    Project,
    ReferenceFile,
)
from chatpage.database.schema import FILE_NAME_CHARS, PROJECT_NAME_CHARS
from liaobots_core.framing import JsonTooDeep, parse_json

_SIZE_MAX = 2**40


@dataclass(frozen=True)
class ExportedProject:
    """A project as a file carries it: enough to make it again on another page."""

    name: str
    instructions: str
    files: tuple[tuple[str, int, str], ...]  # name, size in bytes, extracted text


def to_json_with_project(
    conversation: Conversation, project: Project | None, files: list[ReferenceFile]
) -> str:
    """The conversation's export, with its project when it is in one."""
    exported = to_json(conversation)
    if project is None:
        return exported
    document = json.loads(exported)
    document["project"] = {
        "name": project.name,
        "instructions": project.instructions,
        "files": [{"name": f.name, "size": f.size, "text": f.text} for f in files],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def project_from(data: bytes, *, max_bytes: int = IMPORT_MAX_BYTES) -> ExportedProject | None:
    """The project an export file names, or None: none, or not one that can be made again."""
    if len(data) > max_bytes:
        return None
    try:
        document = parse_json(data, max_depth=IMPORT_MAX_DEPTH)
    except (JsonTooDeep, ValueError):
        return None
    raw = document.get("project") if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        return None
    name, instructions, files = raw.get("name"), raw.get("instructions", ""), raw.get("files", [])
    if not isinstance(name, str) or not isinstance(instructions, str):
        return None
    name = without_controls(name).strip()[:PROJECT_NAME_CHARS]
    if not name or not isinstance(files, list) or len(files) > FILES_MAX:
        return None
    kept = tuple(_file(item) for item in files)
    if any(file is None for file in kept):
        return None
    checked = tuple(file for file in kept if file is not None)
    if sum(len(text) for _, _, text in checked) > FILES_MAX_CHARS:
        return None
    return ExportedProject(name, without_controls(instructions)[:INSTRUCTIONS_MAX_CHARS], checked)


def _file(raw: Any) -> tuple[str, int, str] | None:
    if not isinstance(raw, dict):
        return None
    name, size, text = raw.get("name"), raw.get("size"), raw.get("text")
    if not isinstance(name, str) or not isinstance(text, str):
        return None
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _SIZE_MAX:
        return None
    name = without_controls(name).strip()[:FILE_NAME_CHARS]
    return (name, size, without_controls(text)) if name else None
