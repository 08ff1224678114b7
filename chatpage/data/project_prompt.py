"""What a project adds to each of its conversations' requests: its instructions and files.

A project's instructions go first, then the conversation's own system prompt, then the
project's reference files, each fenced as a message's files are. The files are the part that
can be long: they may take at most `REFERENCE_SHARE` of the model's budget (`maxLength`, in
characters) left after the prompts and the newest question, so the conversation keeps room
for its history (cut to the rest as before, oldest turns first). Files past that room are
cut at the end (the last one kept is cut short and marked), and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatpage.access.limits import SYSTEM_PROMPT_MAX_CHARS
from chatpage.data.conversation import Attachment, fenced

PROJECTS_MAX = 100  # projects one person may keep
FILES_MAX = 20  # reference files of one project
FILES_MAX_CHARS = 500_000  # their extracted text together, per project
INSTRUCTIONS_MAX_CHARS = SYSTEM_PROMPT_MAX_CHARS
REFERENCE_SHARE = 0.5
FILES_HEADING = "Reference files of this project:"
CUT_MARK = "\n[… cut to fit the model]"


@dataclass(frozen=True)
class ReferenceFile:
    """A project's file, as extracted: its name and size for the list, its text for the model."""

    id: str
    name: str
    size: int  # bytes, as uploaded
    text: str


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    instructions: str = ""


@dataclass(frozen=True)
class ProjectContext:
    """What a conversation's project adds to its requests, for a model of `max_length`."""

    instructions: str
    files: tuple[ReferenceFile, ...]
    max_length: int

    def prompt(self, own_prompt: str, question_chars: int) -> tuple[str, ReferencesCut | None]:
        return project_prompt(
            self.instructions,
            own_prompt,
            list(self.files),
            max_length=self.max_length,
            question_chars=question_chars,
        )


@dataclass(frozen=True)
class ReferencesCut:
    """The project's files did not all fit: so many of their characters went, of so many."""

    sent_chars: int
    total_chars: int


def project_prompt(
    instructions: str,
    own_prompt: str,
    files: list[ReferenceFile],
    *,
    max_length: int,
    question_chars: int,
) -> tuple[str, ReferencesCut | None]:
    """The system prompt a project's conversation sends, and what of its files was cut."""
    head = "\n\n".join(part for part in (instructions, own_prompt) if part.strip())
    if not files:
        return head, None
    total = sum(len(f.text) for f in files)
    room = int((max_length - len(head) - question_chars) * REFERENCE_SHARE)
    room -= len(FILES_HEADING) + 2 * 2  # the heading and the blank lines around it
    blocks: list[str] = []
    sent = 0
    for file in files:
        whole = fenced(Attachment(file.name, file.size, file.text))
        separator = 2 if blocks else 0
        if len(whole) + separator <= room:
            blocks.append(whole)
            room -= len(whole) + separator
            sent += len(file.text)
            continue
        frame = len(fenced(Attachment(file.name, file.size, ""))) + len(CUT_MARK) + separator
        keep = room - frame
        if keep > 0:
            blocks.append(fenced(Attachment(file.name, file.size, file.text[:keep] + CUT_MARK)))
            sent += keep
        break
    cut = ReferencesCut(sent, total) if sent < total else None
    if not blocks:
        return head, cut
    prompt = "\n\n".join(part for part in (head, FILES_HEADING, "\n\n".join(blocks)) if part)
    return prompt, cut
