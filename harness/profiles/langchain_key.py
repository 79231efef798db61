"""The key column of a LangChain-shaped ``langchain_pg_embedding``: langchain-postgres keys rows by ``id``;
langchain-community's PGVector and langchaingo's (Go) pgvector store by a ``uuid`` column, with no ``id``."""

from __future__ import annotations

import psycopg

KEYS = ("id", "uuid")


def key_column(dsn: str, schema: str, table: str = "langchain_pg_embedding") -> str | None:
    """The first of ``KEYS`` the table has; None when the database or the table cannot be read (the preset's default
    stands, and the profile's own check names what is missing)."""
    try:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            columns = {c for (c,) in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(format('%%I.%%I', %s::text, %s::text)) "
                "AND attnum > 0 AND NOT attisdropped", (schema, table)).fetchall()}
    except psycopg.Error:
        return None
    return next((k for k in KEYS if k in columns), None)
