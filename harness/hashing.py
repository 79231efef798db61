"""The input hash stored beside each vector: a digest of the chunk's UTF-8 text as stored, by the algorithm the
profile names (``embeddings.input_hash_algorithm``, SHA-256 by default), as lowercase hex in a text column or as
the raw digest in a ``bytea`` column (the column's catalog type says which).

This module is the one place that knows each algorithm: Python's digest (what the engine's stored values must
equal) and the SQL that computes the same digest inside Postgres, so freshness is checked without moving texts out
of the database.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from psycopg import sql

DEFAULT = "sha256"
PGCRYPTO_DIGEST = "digest(bytea,text)"  # pgcrypto's; SHA-1 has no builtin in Postgres


@dataclass(frozen=True)
class Algorithm:
    name: str  # the profile value
    label: str  # as the user reads it
    hex_length: int
    pgcrypto: bool = False  # computed in SQL by pgcrypto's digest(), which must be on the search path

    def hexdigest(self, text: str) -> str:
        return hashlib.new(self.name, text.encode("utf-8", errors="surrogatepass"), usedforsecurity=False).hexdigest()

    def digest_sql(self, text: sql.Composable) -> sql.Composed:
        """The raw digest (bytea) of a text expression's UTF-8 bytes."""
        data = sql.SQL("convert_to({}, 'UTF8')").format(text)
        if self.pgcrypto:
            return sql.SQL("digest({}, {})").format(data, sql.Literal(self.name))
        if self.name == "md5":  # md5() returns hex text
            return sql.SQL("decode(md5({}), 'hex')").format(data)
        return sql.SQL("{}({})").format(sql.SQL(self.name), data)  # sha256(), sha512(): builtins since PG 11

    def hex_sql(self, text: sql.Composable) -> sql.Composed:
        """Lowercase hex of the digest: what the engine writes (``hexdigest`` computed in Postgres)."""
        if self.name == "md5":
            return sql.SQL("md5(convert_to({}, 'UTF8'))").format(text)
        return sql.SQL("encode({}, 'hex')").format(self.digest_sql(text))

    def stored_text_sql(self, column: sql.Composable, text: sql.Composable) -> sql.Composed:
        """The text's digest as ``column::text`` renders it when the column holds it: the raw digest for a ``bytea``
        column, lowercase hex for any other (text, varchar, char). Both sides pass through the same output
        function, so ``bytea_output`` cannot make them differ; one digest is computed per row."""
        return sql.SQL("CASE WHEN pg_typeof({col}) = 'bytea'::regtype THEN ({digest})::text ELSE {hex} END").format(
            col=column, digest=self.digest_sql(text), hex=self.hex_sql(text))

    def differs_sql(self, column: sql.Composable, text: sql.Composable) -> sql.Composed:
        """True where the stored hash is not this algorithm's digest of the text (NULL included)."""
        return sql.SQL("{}::text IS DISTINCT FROM {}").format(column, self.stored_text_sql(column, text))

    def equals_sql(self, column: sql.Composable, text: sql.Composable) -> sql.Composed:
        return sql.SQL("{}::text = {}").format(column, self.stored_text_sql(column, text))


ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (
    Algorithm("sha256", "SHA-256", 64),
    Algorithm("sha512", "SHA-512", 128),
    Algorithm("sha1", "SHA-1", 40, pgcrypto=True),
    Algorithm("md5", "MD5", 32),
)}


def algorithm(name: str | None) -> Algorithm:
    """The algorithm of a profile value (None: the default); ValueError naming the allowed values otherwise."""
    try:
        return ALGORITHMS[name or DEFAULT]
    except KeyError:
        raise ValueError(f"expected one of {', '.join(ALGORITHMS)}, found {name!r}") from None


def text_hash(text: str, name: str | None = None) -> str:
    """The algorithm's lowercase hex digest of the text's UTF-8 bytes (SHA-256 by default)."""
    return algorithm(name).hexdigest(text)


def as_stored(hex_digest: str | bytes, column_type: str) -> str | bytes:
    """A hex digest in the form its column keeps: the raw bytes for a ``bytea`` column, the hex otherwise."""
    return bytes.fromhex(hex_digest) if column_type == "bytea" and isinstance(hex_digest, str) else hex_digest


def is_digest_column(column_type: str) -> bool:
    """A column type an input hash can be kept in: bytea (the digest) or a string type (its hex)."""
    return column_type == "bytea" or column_type in ("text", "name") or column_type.startswith(
        ("character varying", "character", "varchar", "bpchar", "char"))


def max_characters(column_type: str) -> int | None:
    """The characters a length-limited string column holds (``character varying(32)``: 32); None for any other."""
    found = re.fullmatch(r"(?:character varying|varchar|character|char|bpchar)\((\d+)\)", column_type)
    return int(found.group(1)) if found else None
