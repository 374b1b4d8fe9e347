"""The decision log: what reviewers decided about review-queue items and pairs, kept outside the build.

One JSON object per line in ``data/review/decisions.jsonl`` (:attr:`SemanticConfig.review_log`),
append-only: a decision is never rewritten, a later one on the same pair supersedes it. The file is
not the build's DuckDB file, so no rebuild, rollback or ``semantic build`` swap replaces it, and a
build reads it (``stg_semantic__review_decisions``) into the labelled pairs of the next build.

Writing is safe against kills and concurrent writers: an exclusive ``flock`` serialises appenders,
each record is one ``write`` followed by ``fsync``, and a line torn by a crash mid-write (the only
way a record can be incomplete, and never one that was acknowledged) is cut off before the next
append and skipped by the reader. Each record holds the content hash of both texts as the published
build had them, so the queue offers the item again only when a text changed, and a label on a text
that has since changed is not trained on.

:func:`record` is the API ``semantic label`` (and any other front end) uses: it checks the decision
against the published build (the ids exist, the two sides are of the task's kinds, the label and the
reviewer are valid) and only then appends; a bad decision raises and records nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from semantic.errors import SemanticDataError

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from semantic.config import SemanticConfig

logger = logging.getLogger("semantic.review")

#: The splits a new label can get: a hash bucket below the bound (the 70 / 15 / 15 of unsplit pairs).
SPLITS = (("train", 70), ("valid", 85), ("test", 100))
#: What a reviewer can decide, and the words accepted for each.
LABELS = {
    "match": ("match", "yes", "y", "1", "true", "same"),
    "not_match": ("not_match", "not-match", "not a match", "no", "n", "0", "false", "different"),
    "skip": ("skip", "s", "unsure", "pass"),
}
#: Per task, the entity kinds of its (left, right) sides, as in the labelled_pairs contract.
TASK_SIDES = {
    "duplicate": ("asset", "asset"),
    "brief_match": ("brief", "asset"),
    "lookalike": ("asset", "reference"),
}
#: Where each entity kind's ids and texts are in the published build.
ENTITY_TABLES = {
    "asset": ("stg_semantic__assets", "asset_id"),
    "brief": ("stg_semantic__briefs", "brief_id"),
    "reference": ("stg_semantic__compliance_references", "reference_id"),
}
#: The columns of the log as the build reads it (stg_semantic__review_decisions).
COLUMNS = ("decision_id", "review_id", "task", "left_id", "right_id", "label", "reviewer", "note",
           "decided_at", "left_hash", "right_hash", "split", "model_version")


def pair_key(task: str, left_id: str, right_id: str) -> tuple[str, str]:
    """The pair's two ids in the order the log keeps them: a duplicate pair is unordered (smaller id
    first); brief matches (brief, asset) and lookalikes (asset, reference) keep their order."""
    if task == "duplicate" and right_id < left_id:
        return right_id, left_id
    return left_id, right_id


def review_id(task: str, left_id: str, right_id: str) -> str:
    """The queue item's id: the first 12 hex digits of md5(task|left|right) over :func:`pair_key`
    (``fct_review_queue`` computes the same in SQL)."""
    left, right = pair_key(task, left_id, right_id)
    return hashlib.md5(f"{task}|{left}|{right}".encode()).hexdigest()[:12]


def split_of(task: str, left_id: str, right_id: str) -> str:
    """The split a decision on this pair joins: a hash of (task, ids), so a pair's labels never move
    between training and calibration, whoever decides it and however often."""
    left, right = pair_key(task, left_id, right_id)
    bucket = int(hashlib.md5(f"{task}|{left}|{right}".encode()).hexdigest()[:8], 16) % 100
    return next(name for name, upper in SPLITS if bucket < upper)


def parse_label(value: str) -> str:
    """``match``, ``not_match`` or ``skip`` from what a person typed (see :data:`LABELS`)."""
    word = " ".join(str(value or "").strip().lower().replace("_", " ").split())
    for label, words in LABELS.items():
        if word in {w.replace("_", " ") for w in words}:
            return label
    raise SemanticDataError(
        f"label {value!r} is not a decision: use match, not_match (or 'not a match') or skip; nothing was recorded"
    )


@dataclass(frozen=True)
class Decision:
    """One recorded decision (a line of the log)."""

    decision_id: str
    review_id: str
    task: str
    left_id: str
    right_id: str
    label: str
    reviewer: str
    note: str | None
    decided_at: str
    left_hash: str | None
    right_hash: str | None
    split: str
    model_version: str | None = None

    def line(self) -> str:
        """What ``semantic label`` prints once it is recorded."""
        return (f"recorded {self.label} on {self.task} ({self.left_id}, {self.right_id}) by {self.reviewer} "
                f"at {self.decided_at} [item {self.review_id}, split {self.split}]")


class DecisionLog:
    """The append-only log file (created on the first decision)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, decision: Decision) -> Decision:
        """Append one decision durably (flock, one write, fsync); a torn last line is cut off first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(asdict(decision), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        fd = self._open_locked()
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
            if size and os.pread(fd, 1, size - 1) != b"\n":
                keep = _last_newline(fd, size)
                logger.warning("the decision log %s ended in a torn line (a writer was killed mid-write); "
                               "cutting off its %d bytes, which were never recorded", self.path, size - keep)
                os.ftruncate(fd, keep)
                os.lseek(fd, keep, os.SEEK_SET)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return decision

    def _open_locked(self) -> int:
        """The log file, opened and exclusively locked; retried when :meth:`erase` replaced the file
        while this process waited for the lock (the lock it got is then the old file's)."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def erase(self, ids: Sequence[str]) -> int:
        """Remove every decision naming one of ``ids`` (``semantic forget``: the one case an append-only log
        is rewritten). The rest is written to a new file that replaces the log atomically, under the lock.
        Returns how many decisions were removed."""
        if not self.path.exists() or not ids:
            return 0
        gone = set(ids)
        fd = self._open_locked()
        try:
            kept, removed = [], 0
            with open(fd, "rb", closefd=False) as f:
                for raw in f:
                    try:
                        record = json.loads(raw.decode("utf-8"))
                    except ValueError:
                        continue  # a torn line: never recorded
                    if {str(record.get("left_id")), str(record.get("right_id"))} & gone:
                        removed += 1
                    else:
                        kept.append(raw if raw.endswith(b"\n") else raw + b"\n")
            if removed:
                fresh = self.path.with_name(self.path.name + ".erasing")
                with open(fresh, "wb") as out:
                    out.writelines(kept)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(fresh, self.path)
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        finally:
            os.close(fd)
        return removed

    def __iter__(self) -> Iterator[Decision]:
        return iter(self.read())

    def read(self) -> list[Decision]:
        """Every recorded decision, oldest first; a torn or unreadable line is skipped with a warning."""
        if not self.path.exists():
            return []
        out: list[Decision] = []
        with self.path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw.decode("utf-8"))
                    out.append(Decision(**{k: record.get(k) for k in Decision.__dataclass_fields__}))
                except (ValueError, TypeError) as e:
                    logger.warning("decision log %s line %d is not a decision (%s); skipped", self.path, number, e)
        return out

    def to_arrow(self) -> pa.Table:
        """The log as a table with :data:`COLUMNS` (``decided_at`` a UTC timestamp)."""
        import pyarrow as pa

        rows = [asdict(d) for d in self.read()]
        fields = [pa.field(c, pa.string()) for c in COLUMNS]
        table = pa.Table.from_pylist(rows, schema=pa.schema(fields)) if rows else pa.schema(fields).empty_table()
        stamps = pa.array([datetime.fromisoformat(s).replace(tzinfo=None) if s else None
                           for s in table.column("decided_at").to_pylist()], pa.timestamp("us"))
        return table.set_column(table.schema.get_field_index("decided_at"), "decided_at", stamps)


def _last_newline(fd: int, size: int) -> int:
    """The offset just after the last newline before ``size`` (0 when there is none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - 65536)
        chunk = os.pread(fd, pos - start, start)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return start + i + 1
        pos = start
    return 0


def _check_text(what: str, value: object) -> None:
    """A string argument must be text the log can hold (UTF-8, no NUL)."""
    if value is None:
        return
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise SemanticDataError(f"the {what} {text!r} is not valid UTF-8 text: pass it as UTF-8; nothing was "
                                "recorded") from e
    if "\x00" in text:
        raise SemanticDataError(f"the {what} {text!r} holds a NUL character: remove it; nothing was recorded")


def _kinds_of(con: Any, entity_id: str) -> list[str]:
    """The entity kinds (asset, brief, reference) the published build knows ``entity_id`` as."""
    import duckdb

    kinds = []
    for kind, (table, column) in ENTITY_TABLES.items():
        try:
            if con.execute(f"select 1 from {table} where {column} = ? limit 1", [entity_id]).fetchone():
                kinds.append(kind)
        except duckdb.CatalogException:  # a build of an older version of the package
            continue
    return kinds


def _text_hash(con: Any, kind: str, entity_id: str) -> str | None:
    table, column = ENTITY_TABLES[kind]
    row = con.execute(f"select content_hash from {table} where {column} = ?", [entity_id]).fetchone()
    return None if row is None else row[0]


def _resolve_task(con: Any, task: str | None, left_id: str, right_id: str) -> tuple[str, str, str]:
    """(task, left_id, right_id) with the sides in the task's order, or a clear error."""
    left_kinds, right_kinds = _kinds_of(con, left_id), _kinds_of(con, right_id)
    for side, found in ((left_id, left_kinds), (right_id, right_kinds)):
        if not found:
            raise SemanticDataError(
                f"unknown id {side!r}: it is no asset, brief or compliance reference of the published build; check "
                "the id (`semantic queue` lists the items with their ids), or run `semantic build` if it is new; "
                "nothing was recorded")
    tasks = [task] if task else list(TASK_SIDES)
    if task is not None and task not in TASK_SIDES:
        raise SemanticDataError(f"task {task!r} is not one of {', '.join(TASK_SIDES)}; nothing was recorded")
    for name in tasks:
        want_left, want_right = TASK_SIDES[name]
        if want_left in left_kinds and want_right in right_kinds:
            return name, left_id, right_id
        if want_left in right_kinds and want_right in left_kinds:  # given the other way round
            return name, right_id, left_id
    sides = ", ".join(f"{name}: ({a}, {b})" for name, (a, b) in TASK_SIDES.items())
    raise SemanticDataError(
        f"{left_id!r} is {' or '.join(left_kinds)} and {right_id!r} is {' or '.join(right_kinds)}: "
        + (f"a {task} decision needs ({TASK_SIDES[task][0]}, {TASK_SIDES[task][1]})" if task
           else "no task pairs these kinds")
        + f"; the tasks pair {sides}; nothing was recorded")


def record(
    config: SemanticConfig,
    label: str,
    reviewer: str,
    *,
    item: str | None = None,
    ids: Sequence[str] | None = None,
    task: str | None = None,
    note: str | None = None,
) -> Decision:
    """Check a decision against the published build and append it to the log.

    Args:
        config: Where the published DuckDB file and the log are.
        label: match, not_match or skip (see :func:`parse_label`).
        reviewer: Who decides (required, not blank).
        item: A ``review_id`` of ``fct_review_queue``; or
        ids: any two ids (left, right); with ``task`` (inferred from their kinds when None).
        note: Optional free text kept with the decision.

    Raises:
        SemanticDataError: An unknown item or id, a bad label, a blank reviewer, two ids whose kinds no
            task pairs; nothing is recorded.
    """
    import duckdb

    for what, value in (("label", label), ("reviewer", reviewer), ("item", item), ("task", task), ("note", note),
                        *(("id", i) for i in (ids or ()))):
        _check_text(what, value)
    decided = parse_label(label)
    who = " ".join(str(reviewer or "").split())
    if not who:
        raise SemanticDataError("the reviewer's name is empty: pass --reviewer NAME (or set $SEMANTIC_REVIEWER); "
                                "nothing was recorded")
    if (item is None) == (ids is None):
        raise SemanticDataError("name either a queue item (its review_id) or two ids; nothing was recorded")
    if not config.db_path.exists():
        raise SemanticDataError(f"no published build at {config.db_path}: run `semantic build` (or `make run`) "
                                "first; nothing was recorded")
    model_version = None
    with duckdb.connect(str(config.db_path), read_only=True) as con:
        if item is not None:
            try:
                row = con.execute("select task, left_id, right_id, model_version from fct_review_queue "
                                  "where review_id = ?", [str(item).strip()]).fetchone()
            except duckdb.CatalogException as e:
                raise SemanticDataError("the published build has no fct_review_queue: run `semantic build` with "
                                        "this version of the package first; nothing was recorded") from e
            if row is None:
                raise SemanticDataError(
                    f"unknown queue item {item!r}: it is not in fct_review_queue of the published build (decided "
                    "already, or the id is mistyped); `semantic queue` lists the open items; nothing was recorded")
            task, left_id, right_id, model_version = row
        else:
            assert ids is not None
            if len(ids) != 2 or not all(str(i).strip() for i in ids):
                raise SemanticDataError(f"give exactly two non-empty ids, got {list(ids)!r}; nothing was recorded")
            task, left_id, right_id = _resolve_task(con, task, str(ids[0]).strip(), str(ids[1]).strip())
        if task == "duplicate" and left_id == right_id:
            raise SemanticDataError(f"a duplicate decision needs two different assets, got {left_id!r} twice; "
                                    "nothing was recorded")
        left_kind, right_kind = TASK_SIDES[task]
        left_hash, right_hash = _text_hash(con, left_kind, left_id), _text_hash(con, right_kind, right_id)
    left, right = pair_key(task, left_id, right_id)
    if (left, right) != (left_id, right_id):
        left_hash, right_hash = right_hash, left_hash
    decision = Decision(
        decision_id=uuid.uuid4().hex, review_id=review_id(task, left, right), task=task, left_id=left,
        right_id=right, label=decided, reviewer=who, note=(note or None) and str(note).strip() or None,
        decided_at=datetime.now(UTC).isoformat(timespec="microseconds"), left_hash=left_hash,
        right_hash=right_hash, split=split_of(task, left, right), model_version=model_version,
    )
    return DecisionLog(config.review_log).append(decision)
