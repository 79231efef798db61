"""The historylog: one markdown entry per backfill, newest first, chained by SHA-256.

Each entry starts with a marker line ``<!-- entry sha256=H -->`` where H is the
SHA-256 of the entry's text below the marker; that text ends with the hash of
the previous (older) entry. The header's ``<!-- historylog head=H entries=N -->``
line names the newest entry, so deleting it is detected too. The hash is unkeyed (an editor can re-hash a
rewritten newest entry and the head), so ``record`` also anchors each entry in the target database
(harness.historylog_anchor). Appends take an exclusive ``flock`` on a lock file next to the log, write a
temporary file and ``os.replace`` it: concurrent writers queue, readers never see half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager, Protocol


from . import redact
from .files import atomic_write_text, contained
from .errors import ConfigError, HarnessError
from .model_names import same_model

if TYPE_CHECKING:
    import jinja2

GENESIS = "0" * 64
NONE = "—"
TEMPLATE = "historylog_entry.md.j2"
DEFAULT_HEADER = """# historylog

Every embedding backfill run through `backfill-harness record` (or `procedure`) is logged here, newest first.
Each entry says when, who, the collection, the tables, profile, model and dimensions, chunking, batch size, the exact
command and settings (secrets masked), counts before and after, each DONE check with its outcome, the
duration, the outcome and the target repo's git commit.

Entries are chained: the `<!-- entry sha256=... -->` marker above an entry is the SHA-256 of the entry's text,
and each entry ends with the SHA-256 of the entry below it (the previous one). The line below names the newest
entry. `backfill-harness historylog verify` detects an edited, deleted, reordered or inserted entry, and one
written in this header.
Each entry's hash is also anchored in the target database (`backfill_harness.historylog_anchors`, the entry's
`anchor` line names it): `historylog verify --profile P` compares the log with it, which catches an entry
rewritten and re-hashed, the newest one deleted, or an older copy of this file.
Do not edit entries by hand; append with `backfill-harness record`.
"""

_HEAD = re.compile(r"^<!-- historylog head=(?P<head>[0-9a-f]{64}|none) entries=(?P<n>\d+) -->$", re.M)
_MARKER = re.compile(r"^<!-- entry sha256=(?P<sha>[^ ]*) -->\n", re.M)
_FIELD = re.compile(r"^- (?P<label>[a-z0-9 ]+?):(?: (?P<value>.*))?$")
LEGACY_MARKER = "<!-- historylog: older entries below were written before the chain; they are kept as they were -->"
_LEGACY_RE = re.compile("^" + re.escape(LEGACY_MARKER) + "$", re.M)
_CHECK = re.compile(r"^  - (?P<outcome>[a-z]+): (?P<name>.+?)(?: — (?P<message>.*))?$")
_GATE = re.compile(r"^  - gate: (?P<gate>.*)$")


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    outcome: str  # passed / failed / skipped / error
    message: str = ""


@dataclass(frozen=True)
class HistoryEntry:
    when: str
    who: str
    collection: str
    profile: str
    model: str
    outcome: str  # succeeded / failed / refused
    target_collection: str | None = None
    tables: str | None = None  # the profile's chunk (and embedding) table: profiles may share a collection name
    dimensions: int | None = None
    chunking: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int | None = None
    command: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    counts_before: Mapping[str, Any] = field(default_factory=dict)
    counts_after: Mapping[str, Any] = field(default_factory=dict)
    duration_s: float | None = None
    exit_code: int | None = None
    failed_rows: int | None = None
    reason: str | None = None
    repo_commit: str | None = None
    run_dir: str | None = None
    checks: tuple[CheckOutcome, ...] = ()
    in_process_model: str | None = None  # what the command loaded to embed in-process (the provider only checked)
    truncation: str | None = None  # how the vectors were asked for below the model's dimension (request_dimensions)
    gates: tuple[str, ...] = ()  # every gate that refused or was skipped (no plan, scope refused, overridden)
    anchor: str | None = None  # where the entry's hash is anchored, or why it is not (harness.historylog_anchor)
    prev: str = GENESIS
    sha256: str | None = None  # of the rendered entry; set when read back or appended

    @property
    def ok(self) -> bool:
        return self.outcome == "succeeded"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [asdict(c) for c in self.checks]
        return data

    def normalised(self) -> "HistoryEntry":
        """The entry as it will read back: one-line texts, scalar values, secrets masked."""
        def line(value: Any) -> Any:
            if value is None:
                return None
            text = " ".join(str(value).split())
            return text[:500] if text else None

        def flat(mapping: Mapping[str, Any]) -> dict[str, Any]:
            return {str(k).replace(" ", "_").replace("=", "_"): _scalar(v) for k, v in (mapping or {}).items()}

        clean = replace(
            self,
            who=line(self.who) or "unknown",
            collection=line(self.collection) or NONE,
            profile=line(self.profile) or NONE,
            model=line(self.model) or NONE,
            outcome=line(self.outcome) or "failed",
            target_collection=line(self.target_collection),
            tables=line(self.tables),
            command=line(self.command),
            reason=line(self.reason),
            repo_commit=line(self.repo_commit),
            run_dir=line(self.run_dir),
            in_process_model=line(self.in_process_model),
            truncation=line(self.truncation),
            anchor=line(self.anchor),
            chunking=flat(self.chunking),
            settings=flat(self.settings),
            counts_before=flat(self.counts_before),
            counts_after=flat(self.counts_after),
            duration_s=round(float(self.duration_s), 2) if self.duration_s is not None else None,
            checks=tuple(CheckOutcome(line(c.name) or "?", line(c.outcome) or "error", line(c.message) or "")
                         for c in self.checks),
            gates=tuple(g for g in (line(g) for g in self.gates) if g),
        )
        return _redacted(clean)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = " ".join(str(value).split())
    return text or None


def _redacted(entry: HistoryEntry) -> HistoryEntry:
    data = redact.redact(entry.as_dict())
    data["checks"] = tuple(CheckOutcome(**c) for c in data["checks"])
    data["gates"] = tuple(data["gates"])
    return HistoryEntry(**data)


# -- rendering -------------------------------------------------------------------------

_ESCAPE = "\\"


def _v(value: Any) -> str:
    if value is None or value == "":
        return NONE
    text = str(value)
    # A value that reads as the empty mark (a collection named "—") or starts with the escape is escaped,
    # so every value reads back as itself.
    return _ESCAPE + text if isinstance(value, str) and (text == NONE or text.startswith(_ESCAPE)) else text


def _code(value: Any) -> str:
    if value is None:
        return NONE
    fence = "``" if "`" in str(value) else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _kv(mapping: Mapping[str, Any]) -> str:
    if not mapping:
        return NONE
    return " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in mapping.items())


@functools.cache
def _templates() -> jinja2.Environment:
    # Made on first use, not at import: every process that reads a historylog (the checks' pytest, the engine)
    # would otherwise pay for jinja2 (tens of milliseconds) without rendering an entry.
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness", "templates"), autoescape=False, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False,
    )
    env.filters.update(v=_v, code=_code, kv=_kv)
    return env


def render_entry(entry: HistoryEntry) -> str:
    """The entry's text below its marker (normalise first); its SHA-256 is the entry's hash."""
    return _templates().get_template(TEMPLATE).render(e=entry)


def entry_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def render_block(entry: HistoryEntry) -> tuple[str, str]:
    """Marker line + body, and the body's hash."""
    body = render_entry(entry)
    sha = entry_hash(body)
    return f"<!-- entry sha256={sha} -->\n{body}\n", sha


# -- parsing ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedLog:
    header: str
    head: str | None  # None when the header has no head line
    count: int | None
    blocks: tuple[tuple[str, str], ...]  # (claimed sha, body)
    below_legacy: int = 0  # chain markers below the legacy marker: only hand-kept entries (none) belong there


def split(text: str) -> ParsedLog:
    legacy = _LEGACY_RE.search(text)
    below = 0
    if legacy:  # entries written before this log was chained stay below, outside the chain
        below = len(_MARKER.findall(text, legacy.end()))
        text = text[: legacy.start()]
    markers = list(_MARKER.finditer(text))
    header = text[: markers[0].start()] if markers else text
    blocks = []
    for i, m in enumerate(markers):
        end = markers[i + 1].start() if i + 1 < len(markers) else len(text)
        body = text[m.end(): end]
        if body.endswith("\n\n"):
            body = body[:-1]  # the blank line render_block puts between entries
        blocks.append((m.group("sha"), body))
    head = _HEAD.search(header)
    return ParsedLog(header, head.group("head") if head else None, int(head.group("n")) if head else None, tuple(blocks),
                     below)


_LABELS = {
    "when": ("when", "str"), "who": ("who", "str"), "collection": ("collection", "str"),
    "target collection": ("target_collection", "str"), "tables": ("tables", "str"), "profile": ("profile", "str"), "model": ("model", "str"),
    "dimensions": ("dimensions", "int"), "chunking": ("chunking", "kv"), "batch size": ("batch_size", "int"),
    "command": ("command", "code"), "settings": ("settings", "kv"), "counts before": ("counts_before", "kv"),
    "counts after": ("counts_after", "kv"), "duration s": ("duration_s", "float"), "exit code": ("exit_code", "int"),
    "failed rows": ("failed_rows", "int"), "outcome": ("outcome", "str"), "reason": ("reason", "str"),
    "repo commit": ("repo_commit", "str"), "run dir": ("run_dir", "str"),
    "embeds in process": ("in_process_model", "str"), "previous entry sha256": ("prev", "str"),
    "truncation": ("truncation", "str"), "anchor": ("anchor", "str"),
}
_KV_ITEM = re.compile(r'(?P<k>[^\s=]+)=(?P<v>"(?:[^"\\]|\\.)*"|\S+)')


def parse_entry(body: str, sha: str | None = None) -> HistoryEntry:
    """Read an entry's text back into the data it was rendered from."""
    values: dict[str, Any] = {}
    checks: list[CheckOutcome] = []
    gates: list[str] = []
    for raw in body.splitlines():
        gate = _GATE.match(raw)
        if gate:
            gates.append(gate.group("gate"))
            continue
        check = _CHECK.match(raw)
        if check:
            checks.append(CheckOutcome(check.group("name"), check.group("outcome"), check.group("message") or ""))
            continue
        m = _FIELD.match(raw)
        if not m or m.group("label") not in _LABELS:
            continue
        name, kind = _LABELS[m.group("label")]
        values[name] = _parse_value(m.group("value") or NONE, kind, name)
    missing = [k for k in ("when", "who", "collection", "profile", "model", "outcome") if values.get(k) is None]
    if missing:
        raise HistoryLogError(f"historylog entry {sha or '?'} lacks {', '.join(missing)}; expected a rendered entry")
    return HistoryEntry(**values, checks=tuple(checks), gates=tuple(gates), sha256=sha)


def _parse_value(text: str, kind: str, name: str) -> Any:
    if text == NONE:
        return {} if kind == "kv" else None
    if kind == "str" and text.startswith(_ESCAPE):
        return text[len(_ESCAPE):]
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "code":
            return text[3:-3] if text.startswith("`` ") else text[1:-1]
        if kind == "kv":
            return {m.group("k"): json.loads(m.group("v")) for m in _KV_ITEM.finditer(text)}
    except ValueError:
        raise HistoryLogError(f"historylog field {name!r} has value {text!r}; expected a {kind}") from None
    return text


class HistoryLogError(HarnessError):
    """The historylog cannot be read as entries."""


def read_entries(path: str | Path) -> list[HistoryEntry]:
    """Every entry, newest first (an absent file has none)."""
    path = Path(path)
    if not path.exists():
        return []
    return [parse_entry(body, sha) for sha, body in split(path.read_text(encoding="utf-8")).blocks]


def latest_entry(path: str | Path, collection: str, *, filled: bool = False,
                 tables: str | None = None, model: str | None = None) -> HistoryEntry | None:
    """The newest entry for a collection (or for a run into it), or None. ``filled``: only a run that filled it (not
    an ``--into`` run from it); ``tables``: only a run of those tables (entries that name none still match);
    ``model``: only a run of that model (any of its names)."""
    for entry in read_entries(path):
        if tables is not None and entry.tables not in (None, tables):
            continue
        if model is not None and not same_model(entry.model, model):
            continue
        if (filled and collection == (entry.target_collection or entry.collection)
                or not filled and collection in (entry.collection, entry.target_collection)):
            return entry
    return None


def tables_of(profile: Any) -> str:
    """The tables a profile's runs fill, as entries name them: its chunk table, and its embedding table if separate."""
    names = [f"{profile.chunks.schema}.{profile.chunks.table}"]
    if not profile.inline:
        names.append(f"{profile.embeddings.schema}.{profile.embeddings.table}")
    return ", ".join(names)


# -- verification ----------------------------------------------------------------------

@dataclass(frozen=True)
class ChainProblem:
    entry: int  # 1 = newest
    problem: str


@dataclass(frozen=True)
class ChainReport:
    path: str
    entries: int
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        if self.ok:
            return f"{self.path}: {self.entries} entries, chain intact"
        lines = [f"{self.path}: chain BROKEN ({len(self.problems)} problems in {self.entries} entries)"]
        lines += [f"  entry {p.entry}: {p.problem}" if p.entry else f"  header: {p.problem}" for p in self.problems]
        return "\n".join(lines)


def verify(path: str | Path) -> ChainReport:
    """Check every entry's hash, every link to the previous entry, and the header's head and count."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"historylog {str(path)!r} does not exist; expected a file written by backfill-harness record")
    return _verified(str(path), split(path.read_text(encoding="utf-8")))


def _verified(path: str, log: ParsedLog) -> ChainReport:
    problems: list[ChainProblem] = []
    actual = [entry_hash(body) for _, body in log.blocks]
    for i, ((claimed, body), real) in enumerate(zip(log.blocks, actual), start=1):
        if claimed != real:
            problems.append(ChainProblem(i, f"text was edited: marker says sha256 {claimed[:12]}…, text hashes to {real[:12]}…"))
        try:
            prev = parse_entry(body, claimed).prev
        except HistoryLogError as exc:
            problems.append(ChainProblem(i, str(exc)))
            continue
        expected = actual[i] if i < len(actual) else GENESIS
        if prev != expected:
            what = "the first entry" if expected == GENESIS else f"entry {i + 1} ({expected[:12]}…)"
            problems.append(ChainProblem(
                i, f"links to previous entry {str(prev)[:12]}…, but the entry below it is {what}: "
                   "an entry was deleted, inserted or moved"))
    if written := _entry_text_in(log.header):
        # No hash covers the header: an entry written there by hand reads as the newest run, where no check reads it.
        problems.append(ChainProblem(0, f"the header holds entry text outside the chain ('{written}'): written by hand "
                                        "above the newest entry; expected entries appended by backfill-harness record"))
    if log.below_legacy:
        problems.append(ChainProblem(0, f"{log.below_legacy} chained entries below the legacy marker, which keeps only "
                                        "entries written before the chain: moved out of the chain"))
    head = actual[0] if actual else "none"
    if log.head is None:
        problems.append(ChainProblem(0, "no '<!-- historylog head=... -->' line; expected one below the header"))
    else:
        if log.head != head:
            problems.append(ChainProblem(0, f"head names {log.head[:12]}…, but the newest entry is {head[:12]}…: "
                                            "the newest entry was deleted, replaced or added by hand"))
        if log.count != len(actual):
            problems.append(ChainProblem(0, f"header counts {log.count} entries, the file holds {len(actual)}"))
    return ChainReport(path, len(actual), tuple(problems))


def broken(report: ChainReport) -> str:
    """One line saying the chain is broken, its first problem, and how to see them all."""
    first = report.problems[0]
    where = f"entry {first.entry}" if first.entry else "header"
    return (f"historylog {report.path}: chain BROKEN ({len(report.problems)} problems; {where}: {first.problem}); "
            f"expected an intact chain (backfill-harness historylog verify --path {report.path})")


# -- appending -------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(f".{path.name}.lock")
    # O_NOFOLLOW: a link planted in the lock file's place is never followed (nor created through).
    with os.fdopen(os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666), "r+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _with_head(header: str, head: str, count: int) -> str:
    line = f"<!-- historylog head={head} entries={count} -->"
    if _HEAD.search(header):
        return _HEAD.sub(line, header, count=1)
    return header.rstrip("\n") + "\n\n" + line + "\n\n"


class Anchoring(Protocol):
    """Where entries are anchored outside the file (harness.historylog_anchor.DatabaseAnchoring)."""

    @property
    def claim(self) -> str:
        """What an entry says of its anchor before it is written."""

    def pending(self, sha: str, prev: str, log: str, entry: HistoryEntry) -> ContextManager[str | None]:
        """Anchor the entry while the file is written (None), or yield what it says instead when it cannot be."""


def append(path: str | Path, entry: HistoryEntry, anchoring: Anchoring | None = None) -> HistoryEntry:
    """Put the entry at the top (below the header), linked to the current newest; return it with its hash.

    With ``anchoring``, the entry says where it is anchored, and the anchor commits only once the file is written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path = contained(path)  # a link beside it is followed (the real log gets the entry); one out of the folder refused
        with _locked(path):
            text = path.read_text(encoding="utf-8") if path.exists() else DEFAULT_HEADER
            text = _adopt(text)
            log = split(text)
            if log.blocks or log.head is not None:
                # A new entry linked onto an edited, deleted or moved one would vouch for it: refuse, write nothing.
                report = _verified(str(path), log)
                if not report.ok:
                    raise HistoryLogError(broken(report))
            prev = log.blocks[0][0] if log.blocks else GENESIS
            entry = replace(entry, prev=prev, sha256=None, anchor=anchoring.claim if anchoring else entry.anchor)
            entry = entry.normalised()
            block, sha = render_block(entry)
            rest = text[len(log.header):]
            root = log.blocks[-1][0] if log.blocks else sha  # the chain's oldest entry names the log
            with anchoring.pending(sha, prev, root, entry) if anchoring else contextlib.nullcontext() as instead:
                if instead is not None:  # not anchored after all: the entry says so, and why
                    entry = replace(entry, anchor=instead).normalised()
                    block, sha = render_block(entry)
                atomic_write_text(path, _with_head(log.header, sha, len(log.blocks) + 1) + block + rest)
    except OSError as exc:
        raise HarnessError(f"cannot write historylog {path}: {exc.strerror or exc}; expected a writable folder") from None
    return replace(entry, sha256=sha)


def _entry_heading(line: str) -> bool:
    """An entry's heading (the template's ``## when · collection · outcome``), where a hand-kept log's entries begin."""
    return line.startswith("## ")


def _entry_line(line: str) -> bool:
    """A line of an entry's text: its heading, one of its fields, checks (a check's status: a header's own nested
    list, ``  - see: docs/x.md``, is none) or gates."""
    from .checks.outcome import Status

    field_, check = _FIELD.match(line), _CHECK.match(line)
    return (_entry_heading(line) or bool(field_ and field_.group("label") in _LABELS) or bool(_GATE.match(line))
            or bool(check and check.group("outcome") in {*map(str, Status), "error"}))


# An entry's heading as record renders it (the template's first line): no title reads like it.
_RENDERED_HEADING = re.compile(r"^## .+ · .+ · .+$")


def _entry_text_in(header: str) -> str | None:
    """The header's first line of entry text (``_entry_line``); its first line, a title, only where it is an entry's
    heading as record renders it (a hand-kept log's title may be a ``## `` heading)."""
    return next((line for i, line in enumerate(header.splitlines())
                 if (_RENDERED_HEADING.match(line) if i == 0 else _entry_line(line))), None)


def _adopt(text: str) -> str:
    """A log kept by hand before (no chain yet): keep its title as header and its entries below the chain."""
    if _HEAD.search(text) or _MARKER.search(text) or _LEGACY_RE.search(text):
        return text
    lines = text.splitlines(keepends=True)
    cut = next((i for i, line in enumerate(lines) if i > 0 and _entry_heading(line)), len(lines))
    header, older = "".join(lines[:cut]), "".join(lines[cut:])
    if _entry_text_in(header):
        # Entries from the first line (no title), or without headings: as header they read as written outside the
        # chain (``_verified``), and every record after this one was refused. All of it is kept below, as it was.
        header, older = DEFAULT_HEADER, text
    elif not older:
        return text
    return _with_head(header, "none", 0) + LEGACY_MARKER + "\n\n" + older


def init(path: str | Path) -> Path:
    """Create an empty historylog (header only) unless one exists."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, _with_head(DEFAULT_HEADER, "none", 0))
    return path
