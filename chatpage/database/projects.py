"""Projects kept in the database: a person's named groups of conversations.

A project holds instructions and reference files (their extracted text) that every
conversation in it sends. Every query names the owner, as the store's others do: a project,
its files and its memberships are only ever read or changed by the person they belong to, and
a conversation joins only a project of its own owner. Each conversation's membership is a row
of its own; deleting a project deletes its files and memberships, and its conversations go
back to the plain list. Each write announces itself (a REVISION notice), so other tabs and
processes take it in: a conversation whose project changed moves its revision on.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from chatpage.data.project_prompt import (
    FILES_MAX,
    FILES_MAX_CHARS,
    INSTRUCTIONS_MAX_CHARS,
    PROJECTS_MAX,
    Project,
    ReferenceFile,
)
from chatpage.database.notices import REVISION, Notice, Notices
from chatpage.database.schema import (
    FILE_NAME_CHARS,
    PROJECT_NAME_CHARS,
    conversations,
    project_files,
    project_members,
    projects,
)


def project_key(project_id: str) -> str:
    """The name a project's notices go under (beside conversations' ids, never one of them)."""
    return f"project:{project_id}"


@dataclass(frozen=True)
class FilesRefused:
    """Why reference files were not added: `key` names the i18n message, `limit` its figure."""

    key: str
    limit: int


class ProjectStore:
    """Every read and write of projects, on the store's database."""

    def __init__(self, engine: Engine, writes: Engine, notices: Notices) -> None:
        self._engine = engine
        self._writes = writes
        self._notices = notices

    # -- projects ------------------------------------------------------------------------------

    def create(self, owner: str, name: str, instructions: str = "") -> Project | None:
        """A new project; None when the person keeps as many as allowed (or names none)."""
        name = name.strip()[:PROJECT_NAME_CHARS]
        if not name:
            return None
        project = Project(secrets.token_hex(8), name, instructions[:INSTRUCTIONS_MAX_CHARS])
        now = time.time()
        with self._writes.begin() as db:
            kept = db.execute(
                select(func.count()).select_from(projects).where(projects.c.owner == owner)
            ).scalar_one()
            if kept >= PROJECTS_MAX:
                return None
            db.execute(
                insert(projects).values(
                    id=project.id,
                    owner=owner,
                    name=project.name,
                    instructions=project.instructions,
                    created_at=now,
                    updated_at=now,
                )
            )
            self._notices.announce(db, Notice(REVISION, project_key(project.id)))
        return project

    def list(self, owner: str) -> list[Project]:
        """The person's projects, by name."""
        with self._engine.connect() as db:
            rows = db.execute(_LISTED, {"of_owner": owner}).all()
        return [Project(*row) for row in rows]

    def get(self, owner: str, project_id: str) -> Project | None:
        with self._engine.connect() as db:
            row = db.execute(
                select(projects.c.id, projects.c.name, projects.c.instructions).where(
                    projects.c.id == project_id, projects.c.owner == owner
                )
            ).first()
        return Project(*row) if row is not None else None

    def rename(self, owner: str, project_id: str, name: str) -> bool:
        name = name.strip()[:PROJECT_NAME_CHARS]
        return bool(name) and self._change(owner, project_id, name=name)

    def set_instructions(self, owner: str, project_id: str, instructions: str) -> bool:
        return self._change(owner, project_id, instructions=instructions[:INSTRUCTIONS_MAX_CHARS])

    def _change(self, owner: str, project_id: str, **values: str) -> bool:
        with self._writes.begin() as db:
            result = db.execute(
                update(projects)
                .where(projects.c.id == project_id, projects.c.owner == owner)
                .values(**values, updated_at=time.time())
            )
            if not result.rowcount:
                return False
            self._notices.announce(db, Notice(REVISION, project_key(project_id)))
            self._touch_members(db, owner, project_id)
        return True

    def delete(self, owner: str, project_id: str) -> list[str]:
        """Delete a project and its files; its conversations stay, out of any project.

        The conversations that left it, or [] when it was not the person's (or is gone).
        """
        with self._writes.begin() as db:
            found = db.execute(
                select(projects.c.id)
                .where(projects.c.id == project_id, projects.c.owner == owner)
                .with_for_update()
            ).first()
            if found is None:
                return []
            members = self._touch_members(db, owner, project_id)
            db.execute(delete(project_members).where(project_members.c.project_id == project_id))
            db.execute(delete(project_files).where(project_files.c.project_id == project_id))
            db.execute(delete(projects).where(projects.c.id == project_id))
            self._notices.announce(db, Notice(REVISION, project_key(project_id)))
        return members

    def delete_older_than(self, cutoff: float, owner_prefix: str) -> int:
        """Forget projects unchanged since `cutoff` whose owner starts with the prefix (a public
        demo's visitors': their conversations are forgotten the same way)."""
        with self._writes.begin() as db:
            old = select(projects.c.id).where(
                projects.c.updated_at < cutoff,
                projects.c.owner.startswith(owner_prefix, autoescape=True),
            )
            ids = [row.id for row in db.execute(old)]
            if ids:
                db.execute(delete(project_members).where(project_members.c.project_id.in_(ids)))
                db.execute(delete(project_files).where(project_files.c.project_id.in_(ids)))
                db.execute(delete(projects).where(projects.c.id.in_(ids)))
        return len(ids)

    # -- memberships ---------------------------------------------------------------------------

    def move(self, owner: str, conversation_id: str, project_id: str | None) -> bool:
        """Put the conversation into the project (None: out of any); both must be the owner's."""
        with self._writes.begin() as db:
            owned = db.execute(
                select(conversations.c.id)
                .where(conversations.c.id == conversation_id, conversations.c.owner == owner)
                .with_for_update()
            ).first()
            if owned is None:
                return False
            if project_id is not None:
                project = db.execute(
                    select(projects.c.id).where(
                        projects.c.id == project_id, projects.c.owner == owner
                    )
                ).first()
                if project is None:
                    return False
            db.execute(
                delete(project_members).where(
                    project_members.c.conversation_id == conversation_id,
                    project_members.c.owner == owner,
                )
            )
            if project_id is not None:
                db.execute(
                    insert(project_members).values(
                        conversation_id=conversation_id,
                        project_id=project_id,
                        owner=owner,
                        joined_at=time.time(),
                    )
                )
            self._bump(db, [conversation_id])
        return True

    def of_conversation(self, owner: str, conversation_id: str) -> Project | None:
        """The project the conversation belongs to, if any."""
        with self._engine.connect() as db:
            row = db.execute(
                select(projects.c.id, projects.c.name, projects.c.instructions)
                .join(project_members, project_members.c.project_id == projects.c.id)
                .where(
                    project_members.c.conversation_id == conversation_id,
                    project_members.c.owner == owner,
                    projects.c.owner == owner,
                )
            ).first()
        return Project(*row) if row is not None else None

    def memberships(self, owner: str) -> dict[str, str]:
        """Each of the person's conversations in a project: conversation id -> project id."""
        with self._engine.connect() as db:
            rows = db.execute(
                select(project_members.c.conversation_id, project_members.c.project_id).where(
                    project_members.c.owner == owner
                )
            ).all()
        return {row.conversation_id: row.project_id for row in rows}

    def _touch_members(self, db: Connection, owner: str, project_id: str) -> list[str]:
        members = [
            row.conversation_id
            for row in db.execute(
                select(project_members.c.conversation_id).where(
                    project_members.c.project_id == project_id, project_members.c.owner == owner
                )
            )
        ]
        self._bump(db, members)
        return members

    def _bump(self, db: Connection, conversation_ids: Sequence[str]) -> None:
        """Their project changed: other tabs showing them take it in, as after a rename."""
        if not conversation_ids:
            return
        db.execute(
            update(conversations)
            .where(conversations.c.id.in_(list(conversation_ids)))
            .values(revision=conversations.c.revision + 1)
        )
        for conversation_id in conversation_ids:
            self._notices.announce(db, Notice(REVISION, conversation_id))

    # -- reference files -----------------------------------------------------------------------

    def files(self, owner: str, project_id: str) -> list[ReferenceFile]:
        """The project's files, oldest first (the order they are sent in), with their text."""
        with self._engine.connect() as db:
            rows = db.execute(
                select(
                    project_files.c.id,
                    project_files.c.name,
                    project_files.c.size,
                    project_files.c.text,
                )
                .join(projects, projects.c.id == project_files.c.project_id)
                .where(project_files.c.project_id == project_id, projects.c.owner == owner)
                .order_by(project_files.c.created_at, project_files.c.id)
            ).all()
        return [ReferenceFile(*row) for row in rows]

    def add_files(
        self, owner: str, project_id: str, added: Sequence[tuple[str, int, str]]
    ) -> FilesRefused | None:
        """Keep files (name, size, extracted text) with the project, all or none.

        Refused (and nothing kept) past the project's bounds on count and characters, or
        when the project is not the person's.
        """
        now = time.time()
        with self._writes.begin() as db:
            found = db.execute(
                select(projects.c.id)
                .where(projects.c.id == project_id, projects.c.owner == owner)
                .with_for_update()
            ).first()
            if found is None:
                return FilesRefused("project_gone", 0)
            count, chars = db.execute(
                select(
                    func.count(), func.coalesce(func.sum(func.length(project_files.c.text)), 0)
                ).where(project_files.c.project_id == project_id)
            ).one()
            if count + len(added) > FILES_MAX:
                return FilesRefused("project_files_too_many", FILES_MAX)
            if chars + sum(len(text) for _, _, text in added) > FILES_MAX_CHARS:
                return FilesRefused("project_files_too_long", FILES_MAX_CHARS)
            rows: list[dict[str, Any]] = [
                {
                    "id": secrets.token_hex(8),
                    "project_id": project_id,
                    "name": name[:FILE_NAME_CHARS],
                    "size": size,
                    "text": text,
                    "created_at": now + index * 1e-6,  # their order, however fast the clock
                }
                for index, (name, size, text) in enumerate(added)
            ]
            if rows:
                db.execute(insert(project_files), rows)
            self._notices.announce(db, Notice(REVISION, project_key(project_id)))
        return None

    def remove_file(self, owner: str, project_id: str, file_id: str) -> bool:
        with self._writes.begin() as db:
            result = db.execute(
                delete(project_files).where(
                    project_files.c.id == file_id,
                    project_files.c.project_id.in_(
                        select(projects.c.id).where(
                            projects.c.id == project_id, projects.c.owner == owner
                        )
                    ),
                )
            )
            if result.rowcount:
                self._notices.announce(db, Notice(REVISION, project_key(project_id)))
            return result.rowcount > 0


# Read on every page load (the list's groups): built once, as building a statement costs
# about as much as running it on SQLite.
_LISTED = (
    select(projects.c.id, projects.c.name, projects.c.instructions)
    .where(projects.c.owner == bindparam("of_owner"))
    .order_by(projects.c.name, projects.c.created_at)
    .limit(PROJECTS_MAX)
)
