"""Which tables a file adds rows to and which it changes, read from its SQL and from its ORM's calls: one rule, with a
table of patterns per ORM (``ORMS``: a new ORM is one entry). A command that adds a table's rows and changes none is
an ingest (``Contract.adds_again``): running it again loads the corpus a second time."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

from .lexing import in_strings, lex
from .literals import call_args, calls_before, chained_calls, finditer_folded_at, finditer_where, js_imports, line_of
from .schema import typeorm_entity_tables

# SQL inside a file's strings that adds a table's rows, and that changes or removes them; a statement runs to its ';'
# or the string's end, and an ON CONFLICT in it makes the insert an upsert (DO UPDATE: a change; DO NOTHING: no row
# added again).
_INSERT_SQL = re.compile(r"(?i)\bINSERT\s+INTO\s+(?P<t>(?:\"?\w+\"?\.)?\"?\w+\"?)")
_CHANGE_SQL = re.compile(r"(?i)\b(?:DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|UPDATE|MERGE\s+INTO)\s+(?:ONLY\s+)?"
                         r"(?P<t>(?:\"?\w+\"?\.)?\"?\w+\"?)")
_ON_CONFLICT = re.compile(r"(?i)\bON\s+CONFLICT\b")
_DO_UPDATE = re.compile(r"(?is)\bON\s+CONFLICT\b.*\bDO\s+UPDATE\b")
# What may stand between two literals of one wrapped string: their quotes, whitespace, a `+` or PHP's `.`, a line's
# `\\`, and the next literal's prefix (Python's f, r, b, u).
_JOINS_LITERALS = re.compile(r"(?:\s|[\"'`+.\\]|\b[rRbBuUfF]{1,2}(?=[\"']))*")

# A handle (a model class, a table variable, a client's accessor) is written "?name" until the files read bind it to
# its table (``named``); one never bound is dropped: only a declared model is a table (`openai.embeddings.create` is
# no Prisma create).
HANDLE = "?"
_RECEIVER = re.compile(r"([A-Za-z_$][\w$]*)\s*\Z")  # the name a call is made on (`db` of `db.insert(`)
_CLIENT = re.compile(r"([A-Za-z_$][\w$]*)")
_ID = r"[A-Za-z_$][\w$]*"
_TYPEORM_OPS = "insert|save|upsert|update|delete|remove|softDelete|increment|decrement|clear"
_LITERAL = r"""['"`](?P<t>[\w.]+)(?:\s+as\s+\w+)?['"`]"""


@dataclass(frozen=True)
class Orm:
    """How one ORM writes: ``call`` reaches a table (group ``t``: the table written literally, or with ``handle`` a
    name bound to one; group ``op``: the call, else the calls chained after it count; ``t2``, ``op2``...: the same in
    another alternative); an op ``adds`` or ``changes``
    rows (whole names), and the call's text with its chain may say it ``upserts`` (a change) or ``skips`` rows there
    are (no row added again). ``in_steps``: its statements are built in steps (`stmt = insert(T)`, then
    `stmt.on_conflict_do_update`), so an upsert anywhere in the file counts for each of its inserts."""

    name: str
    lang: str
    uses: re.Pattern[str]
    call: re.Pattern[str]
    adds: re.Pattern[str]
    changes: re.Pattern[str]
    upserts: re.Pattern[str] = re.compile(r"(?!)")
    skips: re.Pattern[str] = re.compile(r"(?!)")
    handle: bool = True
    in_steps: bool = False
    # Where a file matches ``uses`` but not ``imported`` (it writes through a client its own module made: `import { db }
    # from "@/db"`), a call counts only where it is made on a client imported from the app's own module, where the
    # ORM's next call follows it (``next_calls``: op -> that call), or where it is made on a client such a call showed
    # to be the ORM's (a Map's `seen.delete(key)` is none).
    imported: re.Pattern[str] | None = None
    next_calls: tuple[tuple[str, str], ...] = ()
    # The calls chained before the one naming the table count too (Knex's `insert(rows).into("chunks")`).
    chained_before: bool = False
    # A call given a variable (group ``v``: `session.add(chunk)`) writes the table of the model the file made it of
    # (``made``: `chunk = Chunk(...)`, `rows = [Chunk(...) ...]`; groups ``v`` and ``t``); another variable, none.
    made: re.Pattern[str] | None = None


ORMS = (
    # drizzle: `db.insert(chunkRows).values(...)`, `.onConflictDoUpdate(...)`; `db.update(t)`, `db.delete(t)`; the
    # table a variable bound by `pgTable("chunks", ...)`
    Orm("drizzle", "js", re.compile(r"\.\s*(?:insert|update|delete)\s*\("),
        re.compile(rf"(?<=[\w$)\]])\s*\.\s*(?P<op>insert|update|delete)\s*\(\s*(?P<t>{_ID})\s*\)"),
        re.compile("insert"), re.compile("update|delete"), re.compile(r"\bonConflictDoUpdate\b"),
        re.compile(r"\bonConflictDoNothing\b"), imported=re.compile(r"drizzle-orm"),
        next_calls=(("insert", "values"), ("update", "set"), ("delete", "where"))),
    # Prisma: `prisma.documentChunk.createMany(...)` (the accessor: the model's name, first letter lowercase; its table
    # the model's @@map in schema.prisma), also on a client the app's own module makes (T3's `import { db } from
    # "~/server/db"`); `skipDuplicates: true` adds no row there is
    Orm("prisma", "js", re.compile(r"\.\s*\w+\s*\.\s*\w+\s*\("),
        re.compile(rf"(?<![\w$.])(?:this\s*\.\s*)?{_ID}\s*\.\s*(?P<t>[a-z][\w$]*)\s*\.\s*(?P<op>\w+)\s*\("),
        re.compile(r"create(?:Many(?:AndReturn)?)?"),
        re.compile(r"upsert|update(?:Many(?:AndReturn)?)?|delete(?:Many)?"), skips=re.compile(r"\bskipDuplicates\s*:\s*true"),
        imported=re.compile(r"(?i)prisma")),
    # Knex: `knex("chunks").insert(...)`, the table named by `.into`, `.table` or `.from` before or after the call
    # (`knex.insert(rows).into("chunks")`), `.onConflict("id").merge()` (an upsert) or `.ignore()`; `.update`, `.del`
    Orm("knex", "js", re.compile(r"\bknex\b"), re.compile(
        rf"(?<![\w$.]){_ID}\s*\(\s*{_LITERAL}\s*\)|\.\s*(?:into|table|from)\s*\(\s*{_LITERAL.replace('<t>', '<t2>')}\s*\)"),
        re.compile("insert"), re.compile(r"update|del|delete|merge|upsert|increment|decrement|truncate"),
        skips=re.compile(r"\.\s*ignore\s*\("), handle=False, chained_before=True),
    # Kysely: `db.insertInto("chunks")`, `.onConflict((oc) => oc.column("id").doUpdateSet(...))` or `.doNothing()`;
    # `updateTable`, `deleteFrom`, `mergeInto`
    Orm("kysely", "js", re.compile(r"\bkysely\b", re.I),
        re.compile(rf"\.\s*(?P<op>insertInto|replaceInto|updateTable|deleteFrom|mergeInto)\s*\(\s*{_LITERAL}\s*\)"),
        re.compile("insertInto"), re.compile("replaceInto|updateTable|deleteFrom|mergeInto"),
        re.compile(r"\b(?:doUpdateSet|onDuplicateKeyUpdate)\b"), re.compile(r"\b(?:doNothing|ignore)\s*\("), handle=False),
    # TypeORM: a repository of an entity (`getRepository(Chunk)`, a manager's `insert(Chunk, ...)`): `insert` adds;
    # `save` updates the row of an entity whose key is stored (an upsert), `upsert`, `update`, `delete`, `remove` change
    # (a repository held in a variable or property is bound to its entity: ``bindings``); its query builder's
    # `insert().into(Chunk)` adds unless `.orUpdate(...)` (an upsert) or `.orIgnore()` follows it
    Orm("typeorm", "js", re.compile(r"\b(?:typeorm|getRepository|Repository|createQueryBuilder)\b"),
        re.compile(rf"\bgetRepository\s*\(\s*(?P<t>{_ID})\s*\)|\.\s*(?P<op>{_TYPEORM_OPS})\s*\(\s*(?P<t2>[A-Z][\w$]*)\s*,"
                   rf"|(?<![\w$])(?:this\s*\.\s*)?(?P<t3>{_ID})\s*\.\s*(?P<op3>{_TYPEORM_OPS})\s*\((?!\s*[A-Z][\w$]*\s*,)"
                   # its query builder: `.insert().into(Chunk)`, `.delete().from(Chunk)`, `.update(Chunk)`
                   rf"|\.\s*(?:into|from)\s*\(\s*(?P<t4>[A-Z][\w$]*)\s*[,)]|\.\s*(?P<op5>update)\s*\(\s*(?P<t5>[A-Z][\w$]*)\s*\)"),
        re.compile("insert"), re.compile("save|upsert|update|delete|remove|softDelete|increment|decrement|clear"),
        re.compile(r"\.\s*orUpdate\s*\("), re.compile(r"\.\s*orIgnore\s*\("), chained_before=True),
    # Sequelize: `Chunk.create`, `Chunk.bulkCreate` (`updateOnDuplicate` makes it an upsert, `ignoreDuplicates` skips);
    # `upsert`, `update`, `destroy`; the model `sequelize.define(...)` or `Model.init(...)` with its tableName
    Orm("sequelize", "js", re.compile(r"\bsequelize\b", re.I),
        re.compile(r"(?<![\w$.])(?P<t>[A-Z][\w$]*)\s*\.\s*(?P<op>create|bulkCreate|upsert|update|destroy|truncate"
                   r"|findOrCreate|increment|decrement)\s*\("),
        re.compile("create|bulkCreate"), re.compile("upsert|update|destroy|truncate|increment|decrement"),
        re.compile(r"\bupdateOnDuplicate\b"), re.compile(r"\bignoreDuplicates\s*:\s*true\b")),
    # SQLAlchemy: `session.add(Chunk(...))`, `add_all([Chunk(...) ...])`, `insert(Chunk)` (a dialect's too: pg_insert)
    # add; `merge`, `update(Chunk)`, `delete(Chunk)`, `on_conflict_do_update` change, and so does a read of the model's
    # rows (`select(Chunk)`, `session.query(Chunk)`, `session.get(Chunk, ...)`): the session writes back what it fetched
    Orm("sqlalchemy", "python", re.compile(r"."),
        re.compile(r"\.\s*(?P<op>add|merge)\s*\(\s*(?P<t>[A-Z]\w*)\s*\(|\.\s*(?P<op2>add_all)\s*\(\s*\[\s*(?P<t2>[A-Z]\w*)\s*\("
                   r"|(?<![\w.])(?P<op3>\w*insert|update|delete|select)\s*\(\s*(?P<t3>[A-Za-z_]\w*)\b(?!\s*\()"
                   r"|\.\s*(?P<op4>query|get)\s*\(\s*(?P<t4>[A-Z]\w*)\b"
                   r"|(?<![\w.])(?P<t5>[A-Za-z_]\w*)(?:\s*\.\s*__table__)?\s*\.\s*(?P<op5>insert|update|delete)\s*\(\s*\)"
                   r"|\.\s*(?P<op6>add|add_all|merge)\s*\(\s*(?P<v6>[a-z_]\w*)\s*\)"),
        re.compile(r"add|add_all|\w*insert"), re.compile("merge|update|delete|select|query|get"),
        re.compile(r"\bon_(?:conflict_do_update|duplicate_key_update)\b"),
        re.compile(r"\bon_conflict_do_nothing\b|\bprefix_with\s*\(\s*['\"]OR\s+IGNORE"), in_steps=True,
        made=re.compile(r"(?m)^[ \t]*(?P<v>[a-z_]\w*)\s*(?::[^=\n]+)?=\s*\[?\s*(?P<t>[A-Z]\w*)\s*\(")),
    # Django: `Chunk.objects.create(...)`, `bulk_create(...)` (`update_conflicts=True` upserts, `ignore_conflicts=True`
    # skips), `Chunk(...).save()` add; any other use of the manager (a filter's update or delete, update_or_create, a
    # fetched object saved) changes; get_or_create adds none again
    Orm("django", "python", re.compile(r"\.objects\b|\.save\s*\("),
        re.compile(r"\b(?P<t>[A-Z]\w*)\s*\.\s*objects\s*\.\s*(?P<op>\w+)\s*\(|\b(?P<t2>[A-Z]\w*)\s*\("),
        re.compile(r"a?(?:bulk_)?create|a?save"), re.compile(r"(?!a?(?:bulk_)?create$|a?get_or_create$|a?save$)\w+"),
        re.compile(r"\bupdate_conflicts\s*=\s*True\b"), re.compile(r"\bignore_conflicts\s*=\s*True\b")),
)


def table_name(written: str) -> str:
    """A table as SQL names it (``"public"."note_chunks"``), bare and lowercase: what a profile's table is compared with."""
    return written.rsplit(".", 1)[-1].strip('"').lower()


def writes(rel: str, text: str, lang: str, code: str, strings: list[tuple[int, int]]
           ) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(inserts, changes) of a file: (table, "path:line") of each insert of a table's rows that skips or updates no row
    there is, and each table upserted, updated, merged into, deleted from or truncated; by SQL in its strings and by
    its ORMs' calls (a handle ``?name`` until ``named``). ``code``, ``strings``: the file as ``lex`` reads it."""
    inserts: list[tuple[str, str]] = []
    changes: list[str] = []
    for m in finditer_folded_at(_INSERT_SQL, code, "insert"):
        if in_strings(m.start(), strings):
            statement = _statement(code, strings, m.end())
            if _DO_UPDATE.search(statement):
                changes.append(table_name(m.group("t")))
            elif not _ON_CONFLICT.search(statement):
                inserts.append((table_name(m.group("t")), f"{rel}:{line_of(text, m.start())}"))
    changes += [table_name(m.group("t")) for m in finditer_folded_at(_CHANGE_SQL, code, "delete", "truncate", "update", "merge")
                if in_strings(m.start(), strings)]
    for orm in ORMS:
        if orm.lang == lang and orm.uses.search(text):
            _orm_writes(orm, rel, code, strings, inserts, changes,
                        imported=orm.imported is None or bool(orm.imported.search(text)))
    return tuple(dict.fromkeys(inserts)), tuple(dict.fromkeys(changes))


def _orm_writes(orm: Orm, rel: str, code: str, strings: list[tuple[int, int]], inserts: list[tuple[str, str]],
                changes: list[str], *, imported: bool = True) -> None:
    """Add to ``inserts`` and ``changes`` what ``orm``'s calls in ``code`` write (``imported``: the file names the ORM;
    else only its calls ``Orm.next_calls`` shows)."""
    upserts_in_file = orm.in_steps and bool(orm.upserts.search(code))
    made = {v.group("v"): v.group("t") for v in orm.made.finditer(code)} if orm.made else {}
    calls = []
    for m in orm.call.finditer(code):
        if in_strings(m.start(), strings):
            continue
        groups = {k.rstrip("0123456789"): v for k, v in m.groupdict().items() if v is not None}
        if "v" in groups:
            if groups["v"] not in made:
                continue  # a set's `seen.add(text)`: no model's row
            groups["t"] = made[groups["v"]]
        at = m.end()
        if code[at - 1] == "(":  # the call's own arguments, then the calls chained after it
            at += len(call_args(code, at - 1)) + 1
        chain, end = chained_calls(code, at)
        # the client: the name the match begins with (Prisma's `db` of `db.chunk.create(`), else the one before it
        made_on = _CLIENT.match(code, m.start()) or _RECEIVER.search(code, max(0, m.start() - 80), m.start())
        calls.append((m, groups, chain, end, made_on.group(1) if made_on else ""))
    nxt = dict(orm.next_calls)
    shown = {client for _, groups, chain, _, client in calls if nxt.get(groups.get("op", "")) in chain}
    if not imported:
        shown |= own_module_names(code)
    for m, groups, chain, end, client in calls:
        if not imported and nxt.get(groups.get("op", "")) not in chain and client not in shown:
            continue
        before, begins = calls_before(code, m.start(), strings=strings) if orm.chained_before else ([], m.start())
        ops = before + ([groups["op"]] if "op" in groups else []) + list(chain)
        said = code[begins:end]
        table = (HANDLE + groups["t"]) if orm.handle else table_name(groups["t"])
        if any(orm.changes.fullmatch(op) for op in ops) or orm.upserts.search(said):
            changes.append(table)
        elif orm.skips.search(said):
            continue
        elif any(orm.adds.fullmatch(op) for op in ops):
            if upserts_in_file:
                changes.append(table)
            else:
                at = next((m.start(k) for k, v in m.groupdict().items() if v is not None and k.startswith("op")), m.start())
                inserts.append((table, f"{rel}:{line_of(code, at)}"))


# A module of the app itself: a relative path or a path alias (`~/server/db`, `@/lib/db`, `#db`, `$lib/db`), never a
# package's name (`@prisma/client` has a scope, not `@/`).
_OWN_MODULE = re.compile(r"(?:\.|~|@/|#|\$)")


def own_module_names(code: str) -> set[str]:
    """The names a JS/TS file imports from the app's own modules (`import { db as client } from "~/server/db"`:
    client)."""
    return {local for local, _, spec in js_imports(code) if _OWN_MODULE.match(spec)}


def _statement(code: str, strings: list[tuple[int, int]], start: int) -> str:
    """The SQL statement from ``start`` (inside a string) to its ';' or the end of the string, and on through the
    literals joined to it (Python's implicit concatenation, `+`): a long upsert is often wrapped over several."""
    i = bisect.bisect_right(strings, (start, float("inf"))) - 1
    statement = code[start:strings[i][1]]
    while ";" not in statement and i + 1 < len(strings) and _JOINS_LITERALS.fullmatch(
            code, strings[i][1], strings[i + 1][0]):
        i += 1
        statement += " " + code[strings[i][0]:strings[i][1]]
    return statement.split(";", 1)[0]


# What binds a handle to its table, per ORM: drizzle's `const chunkRows = pgTable("chunks", ...)`; Sequelize's
# `const Chunk = sequelize.define("Chunk", ..., { tableName: "chunks" })`; TypeORM's `@Entity("chunks") class Chunk`
# (no name: the class's in snake case); SQLAlchemy's `__tablename__` in a class body or `chunks = Table("chunks", ...)`
# (SQLModel's `table=True` class: its name lowercase); Django's `class Meta: db_table`, else `<app>_<model>`.
_DRIZZLE_TABLE = re.compile(rf"""\b(?:const|let|var)\s+(?P<v>{_ID})\s*=\s*(?:pgTable|pgTableCreator\([^)]*\))\s*\(\s*['"`](?P<t>[^'"`]+)['"`]""")
_SEQUELIZE_MODEL = re.compile(rf"""\b(?:const|let|var)\s+(?P<v>{_ID})\s*=\s*\w+\s*\.\s*define\s*\(\s*['"`](?P<m>\w+)['"`]""")
_SEQUELIZE_INIT = re.compile(r"\b(?P<v>[A-Z][\w$]*)\s*\.\s*init\s*\(")
_TABLE_NAME_OPTION = re.compile(r"""\btableName\s*:\s*['"`](?P<t>\w+)['"`]""")
_TYPEORM_REPOSITORY = re.compile(rf"""\b(?P<v>{_ID})\s*(?:=\s*(?:await\s+)?[\w$.]*getRepository\s*\(\s*(?P<e>[A-Z][\w$]*)\s*\)(?!\s*\.)"""
                                 rf"""|:\s*Repository\s*<\s*(?P<e2>[A-Z][\w$]*)\s*>)""")
_PY_CLASS = re.compile(r"(?m)^class\s+(?P<v>[A-Z]\w*)\s*\((?P<bases>[^)]*)\)\s*:")
_PY_TABLE = re.compile(r"""(?m)^(?P<v>[A-Za-z_]\w*)\s*=\s*(?:sa\.|sqlalchemy\.)?Table\s*\(\s*['"](?P<t>\w+)['"]""")
_TABLENAME = re.compile(r"""^\s+__tablename__\s*=\s*['"](?P<t>\w+)['"]""", re.M)
_DB_TABLE = re.compile(r"""^\s+db_table\s*=\s*['"](?P<t>[\w.]+)['"]""", re.M)
_PRISMA_MODEL = re.compile(r"(?m)^\s*model\s+(?P<m>\w+)\s*\{(?P<body>[^}]*)\}")
_PRISMA_MAP = re.compile(r"""@@map\s*\(\s*(?:name\s*:\s*)?["'](?P<t>\w+)["']""")


def bindings(rel: str, text: str) -> dict[str, str]:
    """handle -> table of each model or table variable the file declares (``writes``' handles, without ``HANDLE``)."""
    bound: dict[str, str] = {}
    if rel.endswith(".prisma"):
        for m in _PRISMA_MODEL.finditer(text):
            mapped = _PRISMA_MAP.search(m.group("body"))
            bound[m.group("m")[:1].lower() + m.group("m")[1:]] = mapped.group("t") if mapped else m.group("m")
        return bound
    if "pgTable" in text:
        bound.update((m.group("v"), m.group("t")) for m in finditer_where(_DRIZZLE_TABLE, text, "pgTable"))
    if "define" in text or ".init" in text:
        for m in [*_SEQUELIZE_MODEL.finditer(text), *_SEQUELIZE_INIT.finditer(text)]:
            args = call_args(text, text.index("(", m.start()), 5000)
            named = _TABLE_NAME_OPTION.search(args)
            # no tableName: the model's name, plural unless frozen (Sequelize's default)
            model = m.groupdict().get("m") or m.group("v")
            bound[m.group("v")] = named.group("t") if named else model if re.search(
                r"\bfreezeTableName\s*:\s*true", args) or model.endswith("s") else model + "s"
    if "Repository" in text:  # `const repo = ds.getRepository(Chunk)`, `private repo: Repository<Chunk>`
        bound.update((m.group("v"), HANDLE + (m.group("e") or m.group("e2")))
                     for m in finditer_where(_TYPEORM_REPOSITORY, text, "Repository"))
    if "@Entity" in text:  # the tables locate's declarations give the same entities
        bound.update(typeorm_entity_tables(text))
    if rel.endswith(".py"):
        bound.update((m.group("v"), m.group("t")) for m in _PY_TABLE.finditer(text))
        classes = list(_PY_CLASS.finditer(text))
        for i, m in enumerate(classes):
            body = text[m.end():classes[i + 1].start() if i + 1 < len(classes) else len(text)]
            if own := _TABLENAME.search(body):
                bound[m.group("v")] = own.group("t")
            elif "table=True" in m.group("bases").replace(" ", ""):
                bound[m.group("v")] = m.group("v").lower()
            elif "Model" in m.group("bases") and "django" in text:
                meta = _DB_TABLE.search(body)
                bound[m.group("v")] = meta.group("t") if meta else f"{_django_app(rel)}_{m.group('v').lower()}"
    return bound


def _django_app(rel: str) -> str:
    """The app label of a Django models module: the package holding ``models.py`` (or the ``models`` package)."""
    parts = Path(rel).parts
    at = parts.index("models") if "models" in parts[:-1] else len(parts) - 1
    return parts[at - 1] if at >= 1 else ""


def schema_files(root: Path) -> list[Path]:
    """The Prisma schemas of the application (`prisma/schema.prisma`, a `prisma/schema/` folder), where a package's
    client reads its models: at the root and in packages two folders down."""
    found: list[Path] = []
    for up in ("", "*/", "*/*/"):
        found += root.glob(f"{up}schema.prisma") if up == "" else []
        found += root.glob(f"{up}prisma/schema.prisma")
        found += root.glob(f"{up}prisma/schema/*.prisma")
    return sorted(p for p in dict.fromkeys(found) if "node_modules" not in p.parts)


def named(inserts: tuple[tuple[str, str], ...], changes: tuple[str, ...], bound: dict[str, str]
          ) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """``inserts`` and ``changes`` with each handle named by its table (``bound``) as SQL names it, those never bound
    dropped."""
    def name(t: str) -> str | None:
        for _ in range(3):  # a handle bound to another (a TypeORM repository to its entity)
            if not t.startswith(HANDLE):
                return table_name(t)
            if (found := bound.get(t[len(HANDLE):])) is None:
                return None
            t = found
        return None
    return (tuple(dict.fromkeys((n, w) for t, w in inserts if (n := name(t)))),
            tuple(dict.fromkeys(n for t in changes if (n := name(t)))))


def lexed_writes(rel: str, text: str, lang: str) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """``writes`` of a file not lexed yet."""
    return writes(rel, text, lang, *lex(text, lang))


# Frameworks whose calls name a model, not its table (Laravel's Eloquent, Symfony's Doctrine): read for the whole
# command, a create or persist beside none of its updates: ``Contract.adds_only``.
# What adds a row (Eloquent's create on a model or relation, the builder's insert, SQL's INSERT), and what changes one
# there is (an update, a save, an upsert; a save may insert too, so it counts as a change): a command whose files add
# and change nothing is an importer. SQL changes a row by an UPDATE (its table aliased or not), an upsert's conflict
# (ON CONFLICT ... DO UPDATE) or a MERGE; Eloquent's by an update or save, quiet or throwing (updateQuietly, saveOrFail).
# A row deleted and added again is replaced (as the engine replaces it): a model's or query's delete() counts as a
# change too, not a file's (`Storage::disk()->delete($path)` takes the path an importer is done with).
_LARAVEL_ADDS = re.compile(r"\b[A-Z]\w*\s*::\s*(?:create|forceCreate|insert|firstOrCreate)\s*\(|->\s*(?:create|createMany|insert"
                   r"|insertGetId|firstOrCreate)\s*\(|(?i:\bINSERT\s+INTO\b)")
_LARAVEL_CHANGES = re.compile(r"(?:->|::)\s*(?:(?:update|save)(?:Quietly|OrFail)?|saveMany|fill|forceFill|upsert|updateOrCreate"
                      r"|updateOrInsert|firstOrNew|push)\s*\(|->\s*(?:delete|forceDelete)\s*\(\s*\)"
                      r"|(?i:\bDELETE\s+FROM\b|\bUPDATE\s+(?:ONLY\s+)?[\w\".]+(?:\s+(?:AS\s+)?\w+)?\s+SET\b|\bDO\s+UPDATE\s+SET\b|\bMERGE\s+INTO\b)")
# Doctrine: a row added (an entity persisted), and a row changed (one fetched, by a repository's find or a query's
# results, then flushed: a persist() of it, often written all the same, updates it; removed; DQL's or SQL's
# UPDATE/DELETE): a command that adds and changes none is an importer.
_DOCTRINE_ADDS = re.compile(r"->\s*persist\s*\(|(?i:\bINSERT\s+INTO\b)")
_DOCTRINE_CHANGES = re.compile(r"->\s*(?:find\w*|remove|merge|getReference|createQueryBuilder|createQuery|matching|getResult"
                      r"|getOneOrNullResult|getSingleResult|toIterable|iterate)\s*\(|->\s*update\s*\(|"
                      r"(?i:\bUPDATE\s+[\w\".\\]+(?:\s+\w+)?\s+SET\b|\bDELETE\s+FROM\b|\bDO\s+UPDATE\s+SET\b)")
_FRAMEWORKS = {"laravel": (_LARAVEL_ADDS, _LARAVEL_CHANGES), "symfony": (_DOCTRINE_ADDS, _DOCTRINE_CHANGES)}


def only_adds(texts: dict[str, str], framework: str) -> str:
    """Why a ``framework``'s files (PHP) only add rows: the first place one is added ("" where any file changes one,
    or none adds one): ``Contract.adds_only``."""
    adds, changes = _FRAMEWORKS[framework]
    code = {path: lex(t, "php")[0] for path, t in texts.items()}
    if any(changes.search(c) for c in code.values()):
        return ""
    added = next(((path, m) for path, c in code.items() if (m := adds.search(c))), None)
    if added is None:
        return ""
    path, m = added
    call = re.sub(r"\s+", "", m.group(0)).rstrip("(")
    return f"it only adds rows ({call} at {path}:{line_of(code[path], m.start())}) and updates none: it re-embeds no row there is"
