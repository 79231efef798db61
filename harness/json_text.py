"""A chunk's text as a JSON document of its fields, spelled as the application's serializer spells it
(``chunks.text_json``), built in SQL so the engine, the hash and recompute read the one text."""

from __future__ import annotations

from psycopg import sql

# A JSON string (escapes included) or a run of whitespace: the strings kept, the whitespace between tokens dropped.
_BETWEEN_TOKENS = r'("(?:[^"\\]|\\.)*")|\s+'
# The serializers whose spelling chunks.text_json reproduces, with their separators between members and between a
# key and its value: js (JSON.stringify, serde_json, Jackson: every character as it is), php (json_encode's defaults:
# non-ASCII as \uXXXX, `/` as `\/`), python (json.dumps' defaults: non-ASCII as \uXXXX).
_SEPARATORS = {"js": (",", ":"), "php": (",", ":"), "python": (", ", ": ")}
STYLES = tuple(_SEPARATORS)


def document(style: str, members: list[tuple[str, sql.Composable]]) -> sql.Composable:
    """The object of ``members`` (key, the field's JSON value: a json or jsonb expression, or any value ``to_json``
    takes) as ``style`` writes it; a NULL field is ``null``, as every serializer writes one."""
    comma, colon = _SEPARATORS[style]
    parts = []
    for key, value in members:
        # Postgres writes a nested jsonb value with ", " and ": ", Python's spelling; a json value as it was given.
        # Python reads a float column as a float, whose repr keeps a whole one's `.0` (4.0), which Postgres drops.
        as_text = sql.SQL(
            "CASE WHEN pg_typeof({v}) IN ('double precision'::regtype, 'real'::regtype) "
            "THEN regexp_replace(to_json({v})::text, '^(-?[0-9]+)$', '\\1.0') ELSE to_jsonb({v})::text END"
        ).format(v=value) if style == "python" else sql.SQL(
            "regexp_replace(to_json({})::text, {}, '\\1', 'g')").format(value, sql.Literal(_BETWEEN_TOKENS))
        parts.append(sql.SQL("{} || coalesce({}, 'null')").format(sql.Literal(f'{_quoted(key)}{colon}'), as_text))
    pieces: list[sql.Composable] = [sql.Literal("{")]
    for i, part in enumerate(parts):
        pieces += [sql.Literal(comma), part] if i else [part]
    body: sql.Composable = sql.SQL("({})").format(sql.SQL(" || ").join([*pieces, sql.Literal("}")]))
    if style == "php":  # json_encode escapes '/' (only ever inside a string, so everywhere)
        body = sql.SQL("replace({}, '/', '\\/')").format(body)
    return _ascii(body, rubout=style == "python") if style in ("php", "python") else body


def _quoted(key: str) -> str:
    """A key as a JSON string (its escapes are those of every serializer here: ASCII keys the usual case)."""
    import json

    return json.dumps(key, ensure_ascii=True)


def _ascii(text: sql.Composable, rubout: bool = False) -> sql.Composable:
    """``text`` with every non-ASCII character a lower-case ``\\uXXXX`` escape (a surrogate pair beyond the BMP), as
    json_encode and json.dumps write them, and with ``rubout`` DEL (0x7f) too, as json.dumps alone escapes it; a text
    all ASCII is returned as it is, unsplit."""
    # Split into runs kept as they are and single characters to escape, not character by character: a 2 kB text with
    # accents was 2,000 rows to aggregate (1.5 ms a chunk, 5 minutes for a count over 200,000 chunks; now about half,
    # still 10x the js spelling's, which escapes nothing).
    kept = sql.SQL("\\x01-\\x7e" if rubout else "\\x01-\\x7f")
    return sql.SQL(
        "(SELECT CASE WHEN d ~ '[^{kept}]' THEN (SELECT string_agg(CASE WHEN m[1] ~ '^[{kept}]' THEN m[1] "
        "WHEN ascii(m[1]) < 65536 THEN '\\u' || lpad(to_hex(ascii(m[1])), 4, '0') "
        "ELSE '\\u' || to_hex(55296 + ((ascii(m[1]) - 65536) >> 10)) || '\\u' || "
        "to_hex(56320 + ((ascii(m[1]) - 65536) & 1023)) END, '' ORDER BY n) "
        "FROM regexp_matches(d, '[{kept}]+|[^{kept}]', 'g') WITH ORDINALITY AS t(m, n)) "
        "ELSE d END FROM (SELECT {text} AS d) AS doc)").format(text=text, kept=kept)
