"""Where a pgai vectorizer really writes: its store and view, read from pgai's catalog (``ai.vectorizer``).

pgai names them ``NAME_store`` / ``NAME`` for ``destination_table('NAME')``, but ``destination_table(target_table =>,
view_name =>, target_schema =>, view_schema =>)`` names each freely, and ``destination_column`` writes into the
source table itself; so the preset asks the catalog rather than deriving names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from ..errors import ConfigError

SUPPORTED = ("supported: ai.destination_table with any target_table, view_name, target_schema and view_schema")


def column_refusal(source: str, destination: Mapping[str, Any]) -> str:
    """The one-line refusal of a vectorizer that writes into a column of its source table."""
    return (f"pgai vectorizer on {source} uses destination_column({destination.get('embedding_column')!r}) (the embedding "
            f"as a column of the source table, no store table), which the pgai preset does not handle; {SUPPORTED}")


def choose(rows: Sequence[Mapping[str, Any]], view: str, *, named: bool) -> Mapping[str, Any] | None:
    """The vectorizer whose view is ``view``; when the user ``named`` none, else the source's only vectorizer."""
    found = [r for r in rows if (r["config"].get("destination") or {}).get("view_name") == view]
    if found:
        return found[0]
    return rows[0] if len(rows) == 1 and not named else None


def names_env(source_schema: str, source: str, destination: Mapping[str, Any]) -> dict[str, str]:
    """The preset's environment for one vectorizer's destination config; ConfigError for ``destination_column``."""
    if destination.get("implementation") == "column":
        raise ConfigError(column_refusal(f"{source_schema}.{source}", destination))
    return {"PGAI_STORE": destination["target_table"], "PGAI_SCHEMA": destination["target_schema"],
            "PGAI_DESTINATION": destination["view_name"]}


def lookup(dsn: str, source_schema: str, source: str, view: str, *, named: bool) -> dict[str, str] | None:
    """The names pgai's catalog holds for the vectorizer of ``source`` (view ``view`` if it has several); None only
    when there is no catalog to ask (no database yet, pgai not installed), so the derived names stand. A catalog that
    exists but cannot be read, or names no such vectorizer, is a ConfigError: a table at the derived name would be
    checked in place of the store pgai writes."""
    try:
        conn = psycopg.connect(dsn, connect_timeout=5, row_factory=psycopg.rows.dict_row)
    except psycopg.Error:
        return None
    try:
        with conn:
            rows = conn.execute(
                "SELECT config FROM ai.vectorizer WHERE source_schema = %s AND source_table = %s ORDER BY id",
                (source_schema, source)).fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
        return None
    except psycopg.Error as exc:
        raise ConfigError(f"pgai's catalog ai.vectorizer cannot be read ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0]}); the store of {source_schema}.{source} is named there; "
                          f"expected a role that may read ai.vectorizer, or PGAI_STORE and PGAI_SCHEMA set") from None
    row = choose(rows, view, named=named)
    if row is None:
        views = ", ".join(str((r["config"].get("destination") or {}).get("view_name")) for r in rows) or "none"
        raise ConfigError(f"pgai's catalog has no vectorizer on {source_schema}.{source} whose view is {view!r} "
                          f"(its views: {views}); expected PGAI_DESTINATION naming one of them")
    return names_env(source_schema, source, row["config"]["destination"])


def vectorizer_of_store(conn: Any, schema: str, table: str) -> dict[str, Any] | None:
    """The vectorizer pgai's catalog says writes ``schema.table`` (its store): id, source schema, table and key
    columns, view, embedder (implementation, model, dimensions, base_url); None where no catalog is there to read (pgai not installed) or none writes that table."""
    try:
        with conn.transaction():  # a failed read leaves the caller's transaction as it was
            rows = conn.execute("SELECT id, source_schema, source_table, source_pk, config FROM ai.vectorizer "
                                "ORDER BY id").fetchall()
    except psycopg.Error:  # no pgai here (or an `ai` schema of something else's): a draft is made without it
        return None
    for row in rows:  # harness.db's connections yield dicts
        destination = (row["config"] or {}).get("destination") or {}
        if (destination.get("target_schema"), destination.get("target_table")) == (schema, table):
            embedding = row["config"].get("embedding") or {}
            return {"id": row["id"], "source_schema": row["source_schema"], "source": row["source_table"],
                    "key": tuple(c["attname"] for c in sorted(row["source_pk"], key=lambda c: c.get("pknum", 0))),
                    "view": destination.get("view_name"),
                    # the embedder as the vectorizer was made (an env read or a setting resolved then)
                    "implementation": embedding.get("implementation"), "model": embedding.get("model"),
                    "dimensions": embedding.get("dimensions"), "base_url": embedding.get("base_url")}
    return None
