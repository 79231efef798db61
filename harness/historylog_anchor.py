"""Historylog entries anchored in the target database: ``record`` inserts each entry's hash into
``backfill_harness.historylog_anchors``, and ``historylog verify`` (and the ``completed`` check) compare the two.

The chain alone has no secret: an editor can re-hash a rewritten newest entry and the header. With the anchor,
rewriting the log also takes write access to the database; someone who can write both can still rewrite both.

The rule, for one database D and one log (its chain named by its oldest entry):
every entry D anchors for this log is an entry of the file (a rewritten, deleted or rolled-back entry is missing),
and every entry of the file that says it is anchored in D is (a forged or re-hashed one is not). Entries below
D's newest anchored entry are fixed by the chain under it. Entries above it may belong to other databases sharing
the log: each says which, and is checked against that one (unproven here); one that says it is not anchored in D,
above an entry D anchors, fails.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from . import db as dbmod
from . import historylog
from .backfill import bookkeeping
from .backfill.bookkeeping import Anchor
from .db import Conn
from .errors import HarnessError

NOT_ANCHORED = "NOT anchored"
_UNANCHORED = re.compile(r"^NOT anchored(?: \((?P<db>database [^)]*)\))?: (?P<why>.*)$")
TABLE = "backfill_harness.historylog_anchors"


def anchored_claim(identity: str) -> str:
    return f"{identity} ({TABLE})"


def unanchored_claim(identity: str | None, reason: str) -> str:
    return f"{NOT_ANCHORED}{f' ({identity})' if identity else ''}: {reason}"


def claimed_database(claim: str | None) -> tuple[str | None, bool]:
    """The database an entry's ``anchor`` names (None: none), and whether it says it is anchored there."""
    if not claim:
        return None, False
    m = _UNANCHORED.match(claim)
    if m:
        return m.group("db"), False
    return claim.removesuffix(f" ({TABLE})"), True


# -- recording -------------------------------------------------------------------------

class DatabaseAnchoring:
    """Anchors entries in one target database as ``historylog.append`` writes them (historylog.Anchoring)."""

    def __init__(self, conn: Conn | None, identity: str | None, refused: str | None):
        self.conn, self.identity, self.refused = conn, identity, refused

    @classmethod
    @contextlib.contextmanager
    def opened(cls, database_url: str | None) -> Iterator["DatabaseAnchoring"]:
        """Connected and the table made; never raises for the database: what failed is what entries say."""
        if not database_url:
            yield cls(None, None, "no target database given")
            return
        try:
            conn = dbmod.connect(database_url, autocommit=True, application_name="backfill-harness record")
        except HarnessError as exc:
            yield cls(None, None, str(exc))
            return
        try:
            identity: str | None = None
            try:
                identity = bookkeeping.database_identity(conn)
                bookkeeping.ensure(conn)
                refused = None
            except (HarnessError, psycopg.Error) as exc:
                refused = _first_line(exc)
            yield cls(conn, identity, refused)
        finally:
            conn.close()

    @property
    def claim(self) -> str:
        if self.refused is not None or self.identity is None:
            return unanchored_claim(self.identity, self.refused or "unknown database")
        return anchored_claim(self.identity)

    @contextlib.contextmanager
    def pending(self, sha: str, prev: str, log: str, entry: historylog.HistoryEntry) -> Iterator[str | None]:
        """Insert the anchor, let the file be written, then commit; the file unwritten rolls the anchor back."""
        if self.conn is None or self.refused is not None:
            yield None  # the entry already says it is not anchored
            return
        inserted = False
        try:
            with self.conn.transaction():
                bookkeeping.anchor_entry(self.conn, Anchor(sha, prev, log, entry.collection,
                                                           Path(entry.run_dir).name if entry.run_dir else None))
                inserted = True
                yield None
            return
        except psycopg.Error as exc:
            if inserted:
                raise HarnessError(f"the historylog entry {sha[:12]}… was written but its anchor in {self.identity} did "
                                   f"not commit: {_first_line(exc)}; expected the database to accept it "
                                   "(historylog verify will name the entry unanchored)") from None
            self.refused = _first_line(exc)
        yield unanchored_claim(self.identity, self.refused)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


# -- comparing -------------------------------------------------------------------------

@dataclass(frozen=True)
class AnchorView:
    """What one database anchors: its identity and every anchored entry, newest first (None: no table)."""
    identity: str
    anchors: tuple[Anchor, ...] | None


def read(conn: Conn) -> AnchorView:
    found = bookkeeping.anchors(conn)
    return AnchorView(bookkeeping.database_identity(conn), tuple(found) if found is not None else None)


@dataclass(frozen=True)
class AnchorReport:
    database: str | None  # None: no database given, nothing compared
    anchored: tuple[int, ...] = ()  # entries (1 = newest) this database anchors
    problems: tuple[str, ...] = ()
    unproven: tuple[str, ...] = ()
    shas: frozenset[str] = field(default_factory=frozenset)  # the anchored hashes of this log
    covered: int = 0  # older entries not anchored here themselves, fixed by the chain under one that is

    @property
    def checked(self) -> bool:
        return self.database is not None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        return "mismatch" if self.problems else ("unproven" if self.unproven or not self.checked else "anchored")

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "database": self.database, "status": self.status,
                "anchored": list(self.anchored), "covered": self.covered, "problems": list(self.problems),
                "unproven": list(self.unproven)}

    def lines(self) -> list[str]:
        if not self.checked:
            return [f"anchor not checked (unproven): {self.unproven[0]}"]
        head = (f"anchor MISMATCH with {self.database}" if self.problems else
                f"{len(self.anchored)} entries anchored in {self.database}"
                + (f" ({self.covered} older ones, not anchored themselves, fixed under them by the chain)"
                   if self.covered else ""))
        return [head] + [f"  {p}" for p in self.problems] + [f"  unproven: {u}" for u in self.unproven]


NOT_CHECKED = ("no target database given; pass --profile P or --database-url URL to compare the log with the anchors "
               "in the target database")


def compare(path: str | Path, view: AnchorView | None) -> AnchorReport:
    """The rule in the module's docstring, for the log at ``path`` (its chain checked first by the caller)."""
    if view is None:
        return AnchorReport(None, unproven=(NOT_CHECKED,))
    blocks = historylog.split(Path(path).read_text(encoding="utf-8")).blocks
    shas = [sha for sha, _ in blocks]
    entries = [historylog.parse_entry(body, sha) for sha, body in blocks]
    where = {sha: i for i, sha in enumerate(shas, start=1)}
    mine = [a for a in view.anchors or () if shas and a.log == shas[-1]]
    problems: list[str] = []
    missing = [a for a in mine if a.sha256 not in where]
    if missing:
        gone = missing[0]
        problems.append(
            f"{view.identity} anchors {len(missing)} entr{'y' if len(missing) == 1 else 'ies'} of this log that the file "
            f"does not hold, the newest {gone.sha256[:12]}… ({gone.collection}, anchored {gone.recorded_at}); the "
            f"file's head is {shas[0][:12] + '…' if shas else 'none'}: an anchored entry was rewritten or deleted, "
            "or the file is an older copy")
    anchored = {a.sha256 for a in mine}
    newest = min((where[s] for s in anchored if s in where), default=None)  # this database's newest entry in the file
    unproven: list[str] = []
    elsewhere: dict[str, list[int]] = {}  # what the entries say -> their numbers
    covered = 0
    for i, (sha, entry) in enumerate(zip(shas, entries), start=1):
        if sha in anchored:
            continue
        named, says_anchored = claimed_database(entry.anchor)
        what = f"entry {i} ({sha[:12]}…, {entry.collection})"
        if named == view.identity and says_anchored:
            problems.append(f"{what} says it is anchored in {view.identity}, which does not anchor it: "
                            "added or rewritten by hand")
        elif newest is not None and i > newest:
            covered += 1  # not anchored itself, but its text is fixed by the chain under entry `newest`, which is
        elif named == view.identity and newest is not None:
            problems.append(f"{what} says it is not anchored in {view.identity}, above entry {newest}, which it "
                            f"anchors: no proof it was recorded and not added by hand ({entry.anchor})")
        elif named == view.identity:
            unproven.append(f"{what} is not anchored: {entry.anchor}")
        else:
            said = f"anchor: {entry.anchor}" if entry.anchor else "no anchor: written before anchoring"
            elsewhere.setdefault(said, []).append(i)
    if elsewhere:
        unproven.append("entries not checked here, each to be checked against the database it names: " + "; ".join(
            f"{', '.join(map(str, numbers))} ({said})" for said, numbers in elsewhere.items()))
    others = len({a.log for a in view.anchors or ()} - {shas[-1] if shas else ""})
    if not mine:
        unproven.append(f"{view.identity} anchors no entry of this log"
                        + (f" (it anchors entries of {others} other logs: another historylog, or this one replaced "
                           "by a different chain)" if others else ""))
    return AnchorReport(view.identity, tuple(sorted(where[s] for s in anchored if s in where)), tuple(problems),
                        tuple(unproven), frozenset(anchored), covered)


def trusted(report: AnchorReport, entry: historylog.HistoryEntry) -> str | None:
    """Why the database does not vouch for this entry (None: it anchors it and the log agrees with it)."""
    if report.problems:
        return report.problems[0]
    if entry.sha256 in report.shas:
        return None
    return (f"entry {str(entry.sha256)[:12]}… ({entry.collection}) is not anchored in {report.database}"
            + (f"; it says: {entry.anchor}" if entry.anchor else "; it names no anchor"))


def verified(path: str | Path, view: AnchorView | None) -> tuple[historylog.ChainReport, AnchorReport]:
    """The chain, then (only when it is intact) the anchor."""
    chain = historylog.verify(path)
    if not chain.ok:
        return chain, AnchorReport(view.identity if view else None,
                                   unproven=("not compared: the chain is broken",) if view else (NOT_CHECKED,))
    return chain, compare(path, view)

