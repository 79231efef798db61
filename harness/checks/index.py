"""Index: from `embeddings.index_min_rows` vectors, an HNSW or IVFFlat index with the distance's operator class, used."""

from __future__ import annotations

import json
import re
from typing import Any

from psycopg import sql

from ..db import one
from ..profile import DISTANCES, OPCLASS_SUFFIX
from .outcome import Outcome, verdict
from .session import CheckSession

VECTOR_AMS = ("hnsw", "ivfflat")
# Tried in order: as the app runs, then with cheaper alternatives priced out. A small table is cheaper
# to scan than to search by index, so the later steps prove the index is usable for the query shape.
PLANNER_STEPS = (
    ("default planner settings", ()),
    ("enable_seqscan = off", ("enable_seqscan",)),
    ("enable_seqscan, enable_bitmapscan, enable_sort = off", ("enable_seqscan", "enable_bitmapscan", "enable_sort")),
)


def vector_indexes(session: CheckSession) -> list[dict[str, Any]]:
    """The indexes on the vector column, of the table and of each of its partitions: a search of a partitioned table
    scans its partitions through their own indexes (made by the parent's index, or on a partition alone)."""
    em = session.profile.embeddings
    with session.read_only() as conn:
        return conn.execute(
            "SELECT ic.relname AS name, am.amname AS method, opc.opcname AS opclass, i.indisvalid AS valid, "
            "pg_get_indexdef(i.indexrelid) AS definition "
            "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "JOIN pg_opclass opc ON opc.oid = i.indclass[0] "
            "WHERE (i.indrelid = to_regclass(%(t)s) OR i.indrelid IN (SELECT relid FROM pg_partition_tree(to_regclass(%(t)s)))) "
            "AND a.attname = %(c)s ORDER BY 1",  # pg_partition_tree lists nothing of a table that is not partitioned
            {"t": _qualified(em.schema, em.table), "c": em.vector},
        ).fetchall()


_READ = "the catalog; the vector count from the shared pass when it ran, else count(*) of the vector column"


def vector_rows(session: CheckSession) -> int:
    """Vectors in the whole embedding table: what a query without an index scans (counted by the pass when it ran),
    added up over the tenants' views under database.session (outside them the policies may show no row at all)."""
    em = session.profile.embeddings
    # The pass reads embeddings.filter's rows only; a search of them without an index scans every model's.
    if session.pass_done and not em.filter:
        return session.onepass().vectors
    total = 0
    for tenant in session.tenants:
        with session.read_only(tenant) as conn:
            total += one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {} WHERE {} IS NOT NULL").format(
                sql.Identifier(em.schema, em.table), sql.Identifier(em.vector))).fetchone())["n"]
    return total


def index(session: CheckSession, collection: str) -> Outcome:
    distance = session.profile.distance
    suffix = OPCLASS_SUFFIX[distance]
    found_all = vector_indexes(session)
    vector_ix = [ix for ix in found_all if ix["method"] in VECTOR_AMS]
    matching = [ix for ix in vector_ix if ix["opclass"].endswith(suffix) and ix["valid"]]
    em = session.profile.embeddings
    expected = f"a valid HNSW or IVFFlat index on {em.table}.{em.vector} with a *{suffix} operator class, used by the spot query"
    if not matching:
        seen = ", ".join(f"{ix['name']} ({ix['method']} {ix['opclass']}{'' if ix['valid'] else ', INVALID'})" for ix in vector_ix) or "none"
        rows, threshold = vector_rows(session), em.index_min_rows
        # No vector index at all on a small table is a choice (scans are fast); an index the queries cannot use is not.
        if rows < threshold and not vector_ix:
            # A count of the rows this role sees: rows row-level security hides may cross the threshold.
            return session.partial("index", collection, verdict("index", collection, True, f"a vector index once the table holds {threshold} vectors "
                           f"(embeddings.index_min_rows)",
                           f"{rows} vectors and no vector index: the queries scan the table, fast enough below "
                           f"{threshold} vectors",
                           note="no index needed yet",
                           metrics={"index": None, "vectors": rows, "index_min_rows": threshold, "read": _READ}))
        declared, written = session.declared()
        untyped = "" if declared is not None else (
            f"; {em.table}.{em.vector} is declared without a dimension, which pgvector cannot index: type it first "
            f"(ALTER TABLE {em.table} ALTER COLUMN {em.vector} TYPE {written or 'vector'}"
            f"({session.expected_dimensions() or 'N'}), once every stored vector has that dimension)")
        return verdict("index", collection, False, expected, f"vector indexes: {seen} on {rows} vectors",
                       note=f"queries use {distance} distance ({DISTANCES[distance]}); an index is required from "
                            f"{threshold} vectors (embeddings.index_min_rows){untyped}",
                       metrics={"vectors": rows, "index_min_rows": threshold, "read": _READ})
    names = {ix["name"] for ix in matching}
    used, step = explain_uses(session, collection, names)
    if used is None:
        return verdict("index", collection, False, expected,
                       f"{', '.join(sorted(names))} exists but EXPLAIN of the spot query never uses it, even with "
                       f"{PLANNER_STEPS[-1][0]}")
    note = "" if step == PLANNER_STEPS[0][0] else (
        f"used with {step} inside the read-only transaction: this table is small enough that a scan is cheaper, "
        f"so usability for the query shape was tested")
    return verdict("index", collection, True, expected, f"{used} used by the spot query", note=note,
                   metrics={"index": used, "planner": step, "read": "the catalog and EXPLAIN of one search (no rows)"})


def explain_uses(session: CheckSession, collection: str, names: set[str]) -> tuple[str | None, str]:
    t, shape = session.target, session.shape
    _, typename = session.declared()
    base_type = re.sub(r"\(.*\)$", "", typename or "vector")
    probe, view = None, None
    for view in session.tenants:  # under database.session: searched as the first tenant with a vector to search with
        with session.read_only(view) as conn:
            probe = conn.execute(sql.SQL("SELECT {v}::text AS v FROM {frm} WHERE {f} AND {v} IS NOT NULL AND {n} > 0 LIMIT 1").format(
                v=t.vector, frm=shape.search_from(), f=shape.emb_filter(), n=shape.norm()), {"collection": collection}).fetchone()
        if probe is not None:
            break
    if probe is None:
        return None, "no vector to search with"
    query = sql.SQL("EXPLAIN (FORMAT JSON) SELECT {id} FROM {frm} WHERE {f} ORDER BY {d} LIMIT 5").format(
        id=t.chunk_id, frm=shape.search_from(), f=shape.emb_filter(),
        d=t.distance_to(sql.SQL("{}::{}").format(sql.Literal(probe["v"]), sql.SQL(base_type))))
    for label, off in PLANNER_STEPS:
        with session.read_only(view) as conn:
            for setting in off:
                conn.execute(sql.SQL("SET LOCAL {} = off").format(sql.Identifier(setting)))
            plan = one(conn.execute(query, {"collection": collection}).fetchone())
        used = _index_names(plan[next(iter(plan))]) & names
        if used:
            return sorted(used)[0], label
    return None, ""


def _index_names(plan: Any) -> set[str]:
    if isinstance(plan, str):
        plan = json.loads(plan)
    found: set[str] = set()
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "Index Name" in node:
                found.add(node["Index Name"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _qualified(schema: str, table: str) -> str:
    return ".".join('"' + n.replace('"', '""') + '"' for n in (schema, table))
