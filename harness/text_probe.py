"""Which text the stored vectors embed: a table's text columns, alone or two joined by a separator, after a model's
task prefix or not, or a title of the row's parent (through a foreign key) before its text, re-embedded for a few rows
with the application's model and compared with the vectors stored beside them (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from . import text_parts
from .discover import TEXT_NAMES, TEXT_TYPES, Shape, _field, _foreign_keys, _named, own_texts
from .locate.json_documents import JsonDocument
from .profile import json_field
from .task_prefixes import DOCUMENT_PREFIXES

# Separators applications put between two fields they embed as one text (formbricks: `${title}: ${description}`).
SEPARATORS = (" ", "\n", ": ", "\n\n", ". ", " - ", ", ", " | ")
MATCH = 0.999  # the same text through the same model: a vector equal up to float noise
ROWS = 5  # a majority of them decides: a row edited since its vector was stored is no counter-proof
MAX_COLUMNS = 4
# A parent row's column an application puts before each chunk's text (cortex: `${doc.title}\n${text}`).
PARENT_TITLE_NAMES = ("title", "name", "heading", "subject", "file_name", "filename")


@dataclass(frozen=True)
class MeasuredText:
    columns: tuple[str, ...]
    separator: str
    matched: bool
    why: str
    prefix: str = ""  # the task prefix before the text (chunks.text_prefix)
    # the text is a JSON document of ``columns`` under these keys, spelled as this serializer writes it (chunks.text_json)
    json_style: str | None = None
    json_keys: tuple[str, ...] = ()


def candidates(shape: Shape) -> tuple[str, ...]:
    """The draft's text first, then its alternatives and the table's own texts (text columns), then the keys of a JSON
    column the draft found named like a text (a title the application joins to the text: Haystack's
    ``meta_fields_to_embed``, ``meta->>'title'``)."""
    typed = {c.name for c in shape.chunks.columns if c.type in TEXT_TYPES}
    names = (shape.text.column, *shape.text.alternatives, *own_texts(shape.chunks))
    columns = tuple(dict.fromkeys(n for n in names if n in typed))
    keys = tuple(n for n in dict.fromkeys((*shape.text.alternatives, *shape.sources, *shape.empty_sources))
                 if n not in columns and _json_key(shape, n) and _named(json_field(n)[1] or "", TEXT_NAMES))
    return (columns + keys)[:MAX_COLUMNS]


def _json_key(shape: Shape, name: str) -> bool:
    """Whether ``name`` is ``column->>'key'`` of a json or jsonb column of the chunk table."""
    try:
        column, key = json_field(name)
    except ValueError:
        return False
    found = shape.chunks.column(column)
    return key is not None and found is not None and found.type in ("json", "jsonb")


Composition = tuple[tuple[str, ...], str, str]  # columns, separator, task prefix


def compositions(columns: Sequence[str]) -> list[Composition]:
    """Each column alone, then each ordered pair with each separator: the draft's guess first; then the same after
    each model's document prefix, pairs of the first two columns only (tried only when nothing bare reproduces)."""
    single: list[Composition] = [((c,), " ", "") for c in columns]
    bare = single + [((a, b), s, "") for a in columns for b in columns if a != b for s in SEPARATORS]
    first = columns[:2]
    return bare + [(cols, sep, p) for p in DOCUMENT_PREFIXES
                   for cols, sep, _ in single + [((a, b), s, "") for a in first for b in first if a != b for s in SEPARATORS]]


def compose(values: dict[str, Any], columns: tuple[str, ...], separator: str, prefix: str = "") -> str:
    """As the engine composes it: the prefix, then concat_ws (NULLs skipped), one column coalesced to ''; a labelled
    part (harness.text_parts) with its values, left out where one is NULL."""
    parts = (_part(values, c) for c in columns)
    return prefix + separator.join(p for p in parts if p is not None)


def _part(values: dict[str, Any], item: str) -> str | None:
    if not text_parts.is_template(item):
        return None if values[item] is None else str(values[item])
    out = ""
    for piece in text_parts.parse(item):
        if piece.kind == "literal":
            out += piece.value
        elif values.get(piece.value) is None:
            return None
        else:
            out += str(values[piece.value])
    return out


def measure_text(conn: Any, shape: Shape, embed, model: str, rows_of: dict[str, Any] | None = None,
                 in_code: tuple[tuple[str, ...], str] | None = None,
                 documents: Sequence[JsonDocument] = ()) -> MeasuredText | None:
    """The composition whose re-embedding reproduces the stored vectors of a few rows (``embed``: texts -> vectors);
    None where nothing can be measured (a LlamaIndex node, no stored vector, rows of several models side by side
    without ``rows_of``: the embedding table's column values of the model's rows). ``in_code``: the parts (labelled,
    harness.text_parts) and separator the application's code joins, tried first where the table holds every field;
    ``documents``: the JSON documents its code writes (harness.locate.json_documents), tried first where the table holds
    a column for every member."""
    if shape.llamaindex_metadata or shape.text.column is None or not shape.chunks.primary_key:
        return None
    if not shape.inline and (shape.key.column is None or shape.chunk_id.column is None
                             or set(shape.side_by_side) - set(rows_of or {})):
        return None
    columns = candidates(shape)
    if shape.text.column not in columns:
        return None
    typed = {c.name for c in shape.chunks.columns if c.type in TEXT_TYPES}
    from_code: list[Composition] = []
    read = columns
    if in_code is not None and all(f in typed for p in in_code[0] for f in text_parts.fields(p)):
        from_code = [(in_code[0], in_code[1], "")]
        read = tuple(dict.fromkeys([*columns, *(f for p in in_code[0] for f in text_parts.fields(p))]))
    table = shape.chunks
    if shape.inline:
        source: sql.Composable = sql.SQL("{} AS c").format(sql.Identifier(table.schema, table.name))
    else:  # a separate table: each chunk's vector through the key (of the model's rows only)
        em = shape.embeddings
        on = [sql.SQL("e.{} = c.{}").format(sql.Identifier(str(shape.key.column)), sql.Identifier(str(shape.chunk_id.column)))]
        on += [sql.SQL("e.{}::text = {}").format(sql.Identifier(c), sql.Literal(str(v))) for c, v in (rows_of or {}).items()
               if c in shape.side_by_side]
        source = sql.SQL("{} AS c JOIN {} AS e ON {}").format(sql.Identifier(table.schema, table.name),
                                                               sql.Identifier(em.schema, em.name), sql.SQL(" AND ").join(on))
    alias = "c" if shape.inline else "e"
    parents = _parent_titles(conn, shape)
    keys = [sql.SQL("{}::text").format(sql.Identifier("c", k)) for k in table.primary_key]
    from .json_text import document

    # each document in each style it may be spelled in, composed as the engine composes chunks.text_json
    serialized = [(d, k, cols, style) for d, k, cols, styles in _documents(shape, documents) for style in styles]
    spelled = [document(style, [(key, sql.Identifier("c", c)) for key, c in zip(k, cols)])
               for _, k, cols, style in serialized]
    query = sql.SQL("SELECT {v}::real[], {cols} FROM {src} WHERE {v} IS NOT NULL ORDER BY {pk} LIMIT {n}").format(
        v=sql.Identifier(alias, shape.vector.column),
        cols=sql.SQL(", ").join([*(_field(c, "c") for c in read), *keys, *(p.select for p in parents),
                                 *spelled]),
        src=source, pk=sql.SQL(", ").join(sql.Identifier("c", k) for k in table.primary_key), n=sql.Literal(ROWS))
    try:
        with conn.transaction():  # a savepoint: a failed read leaves the draft's transaction usable
            rows = conn.cursor(row_factory=tuple_row).execute(query).fetchall()
    except psycopg.Error:
        return None
    if not rows:
        return None
    stored = [np.asarray(r[0], dtype=np.float64) for r in rows]
    values = [dict(zip(read, r[1:])) for r in rows]
    row_keys = [", ".join(r[1 + len(read):1 + len(read) + len(keys)]) for r in rows]
    for v, r in zip(values, rows):
        v.update({p.expression: x for p, x in zip(parents, r[1 + len(read) + len(keys):])})
    as_spelled = [r[1 + len(read) + len(keys) + len(parents):] for r in rows]
    if found := _document_reproduced(embed, model, serialized, as_spelled, stored):
        return found
    from .checks.recompute import REPRODUCED  # recompute's mark of the producer; the checks load only to measure

    tried = from_code + compositions(columns)
    best = 0
    sims_of: dict[Composition, list[float]] = {}
    # The composition most rows reproduce: exactly (REPRODUCED) ends the search; within MATCH only it is kept while
    # the others are tried, since a long column alone is within 0.999 of itself with a title joined to it.
    matched: tuple[tuple[int, int, float], Composition] | None = None
    # The guess alone first (most drafts need that one call), then the others a few at a time; a prefixed text only
    # where no bare one matched (a prefix of three words is within 0.999 of no long text, but costs calls).
    for batch in [tried[:1]] + [tried[i:i + 8] for i in range(1, len(tried), 8)]:
        if matched is not None and batch[0][2]:
            break
        texts = [compose(v, cols, sep, prefix) for cols, sep, prefix in batch for v in values]
        vectors = embed(texts)
        for i, (cols, sep, prefix) in enumerate(batch):
            sims = [_cosine(stored[j], np.asarray(vectors[i * len(values) + j], dtype=np.float64))
                    for j in range(len(values))]
            sims_of[(cols, sep, prefix)] = sims
            same, exact = sum(s >= MATCH for s in sims), sum(s >= REPRODUCED for s in sims)
            best = max(best, same)
            if same * 2 > len(values) and (matched is None or (exact, same, sum(sims)) > matched[0]):
                matched = ((exact, same, sum(sims)), (cols, sep, prefix))
            if exact * 2 > len(values):
                break
        else:
            continue
        break
    if matched is not None:
        (_, same, _), (cols, sep, prefix) = matched
        shown = cols[0] if len(cols) == 1 else f"{', '.join(cols)} joined by {sep!r}"
        shown = f"{prefix!r} before {shown}" if prefix else shown
        others = [j for j, s in enumerate(sims_of[(cols, sep, prefix)]) if s < MATCH]
        titled = _titled(embed, parents, values, stored, others, cols[0], prefix) if len(cols) == 1 and others else None
        said = "" if titled is None else (
            f"; the other {len(others)} ({', '.join(row_keys[j] for j in others)}) reproduce with {titled[0].said} "
            f"joined before {cols[0]} by {titled[1]!r}: the application embeds that for some rows; chunks.text can say "
            f"which with an expression, the title being {titled[0].part}")
        return MeasuredText(cols, sep, True, f"measured: {model} re-embedding {shown} reproduces the stored "
                            f"vectors of {same} of the {len(values)} rows read" + said, prefix)
    titled = _titled(embed, parents, values, stored, list(range(len(values))), shape.text.column, "", majority=True)
    if titled is not None:
        (parent, sep), same = titled[:2], titled[2]
        return MeasuredText((parent.part, shape.text.column), sep, True,
                            f"measured: {model} re-embedding {parent.said} and {shape.text.column} joined by {sep!r} "
                            f"reproduces the stored vectors of {same} of the {len(values)} rows read")
    return MeasuredText((shape.text.column,), " ", False,
                        f"not measured: no column of {', '.join(columns)}, alone or two joined, re-embedded with "
                        f"{model} reproduces the stored vectors of most of the {len(values)} rows read (at best "
                        f"{best}), nor after a task prefix ({', '.join(map(repr, DOCUMENT_PREFIXES))}): the application "
                        "builds its text otherwise (another prefix, a template) or the vectors are of another model; "
                        "check what it embeds")


def _documents(shape: Shape, documents: Sequence[JsonDocument]) -> list[tuple[JsonDocument, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    """Each document whose every member a column of the chunk table holds (the field its value reads, else its key,
    snake_case), with its keys, those columns and the styles to try (its own, else every one)."""
    from .json_text import STYLES
    from .locate.json_documents import snake

    names = {c.name for c in shape.chunks.columns}
    out = []
    for d in dict.fromkeys(documents):
        columns = [f if f in names else snake(k) for k, f in d.members]
        if all(c in names for c in columns) and (d.style is None or d.style in STYLES):
            out.append((d, tuple(k for k, _ in d.members), tuple(columns), (d.style,) if d.style else STYLES))
    return out


def _document_reproduced(embed, model: str, serialized, as_spelled: list[tuple[str, ...]],
                         stored: list[np.ndarray]) -> MeasuredText | None:
    """The first document and style whose re-embedding (each row's document as ``as_spelled`` holds it, in the order of
    ``serialized``) reproduces most rows' stored vectors."""
    for i, (d, keys, columns, style) in enumerate(serialized):
        texts = [row[i] for row in as_spelled]
        same = sum(_cosine(s, np.asarray(v, dtype=np.float64)) >= MATCH for s, v in zip(stored, embed(texts)))
        if same * 2 > len(stored):
            return MeasuredText(columns, " ", True, f"measured: {model} re-embedding the JSON document "
                                f"{d.path}:{d.line} writes ({style} spelling) reproduces the stored vectors of "
                                f"{same} of the {len(stored)} rows read", json_style=style, json_keys=keys)
    return None


@dataclass(frozen=True)
class ParentTitle:
    """A title-like column of the row a chunk's foreign key points to, as a chunks.text part (harness.text_parts)."""
    part: str  # "{(SELECT p.title FROM public.documents p WHERE p.id = \"documentId\")}"
    expression: str  # the part's SQL between its braces (the key of its value in a row read)
    select: sql.Composable  # the same, for the rows read (of the chunk table aliased c)
    said: str  # "documents.title (through document_chunks.documentId)"


def _parent_titles(conn: Any, shape: Shape) -> list[ParentTitle]:
    """The title-like text columns of the tables the chunk table's one-column foreign keys point to."""
    table = shape.chunks
    out = []
    try:
        with conn.transaction():
            keys = _foreign_keys(conn, table)
            for fk, schema, name, key in keys:
                cols = [r[0] for r in conn.cursor(row_factory=tuple_row).execute(
                    "SELECT a.attname FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid "
                    "JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = %s AND r.relname = %s "
                    "AND a.attnum > 0 AND NOT a.attisdropped AND format_type(a.atttypid, NULL) = ANY(%s) ORDER BY a.attnum",
                    (schema, name, sorted(TEXT_TYPES))).fetchall()]
                if fk in cols or fk == "p":
                    continue  # the unqualified key would name the parent's own column
                for col in (c for c in cols if c.lower() in PARENT_TITLE_NAMES):
                    # as a person writes it: bare where Postgres reads it unchanged, else quoted (its own quote_ident)
                    q_col, q_schema, q_name, q_key, q_fk = conn.cursor(row_factory=tuple_row).execute(
                        "SELECT quote_ident(%s), quote_ident(%s), quote_ident(%s), quote_ident(%s), quote_ident(%s)",
                        (col, schema, name, key, fk)).fetchone()
                    expression = f"(SELECT p.{q_col} FROM {q_schema}.{q_name} p WHERE p.{q_key} = {q_fk})"
                    select = sql.SQL("(SELECT p.{} FROM {} p WHERE p.{} = c.{})").format(
                        sql.Identifier(col), sql.Identifier(schema, name), sql.Identifier(key), sql.Identifier(fk))
                    out.append(ParentTitle("{" + expression + "}", expression, select,
                                           f"{name}.{col} (through {table.name}.{fk})"))
    except psycopg.Error:
        return []
    return out[:2]


def _titled(embed, parents: list[ParentTitle], values: list[dict[str, Any]], stored: list[np.ndarray], rows: list[int],
            text: str, prefix: str, majority: bool = False) -> tuple[ParentTitle, str, int] | None:
    """The parent title and separator that, joined before ``text``, reproduce every row of ``rows`` (a majority of
    them with ``majority``), with how many; None where none does."""
    tried = [(p, s) for p in parents for s in SEPARATORS]
    if not tried or not rows:
        return None
    texts = [compose(values[j], (p.part, text), s, prefix) for p, s in tried for j in rows]
    vectors = embed(texts)
    for i, (p, s) in enumerate(tried):
        same = sum(_cosine(stored[j], np.asarray(vectors[i * len(rows) + k], dtype=np.float64)) >= MATCH
                   for k, j in enumerate(rows))
        if same == len(rows) or (majority and same * 2 > len(rows)):
            return p, s, same
    return None


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the stored ``a`` and the model's ``b``; a stored vector of zeros beyond the model's dimension is
    compared by the model's part (the application pads to its column: embeddings.pad_to)."""
    if a.shape[0] > b.shape[0] and not a[b.shape[0]:].any():
        a = a[:b.shape[0]]
    if a.shape != b.shape:
        return -1.0
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else -1.0
