"""When two model names are one model: Ollama fills in what a name leaves out, ``registry.ollama.ai/library/NAME:latest``.

An application stores the name it passed (``nomic-embed-text``) and ``ollama list`` shows ``nomic-embed-text:latest``;
``library/nomic-embed-text`` and ``registry.ollama.ai/library/nomic-embed-text:latest`` are the same weights too. None
is a model switch, another model's vector, or a stale one. Nor is whitespace around a name (``'nomic-embed-text '``
from a padded setting): it is no part of the model's name. One rule, in Python (``same_model``) and in SQL against the
run's ``%(model)s`` (``is_model``, ``other_model``).
"""

from __future__ import annotations

from psycopg import sql

HOST, NAMESPACE, TAG = "registry.ollama.ai", "library", "latest"  # Ollama's defaults for a name's missing parts
# The whitespace around a name that is no part of it: ASCII's, which Python's strip and SQL's btrim both take as given
# (str.strip() alone also strips Unicode spaces, which SQL would not: the two sides would disagree on such a name).
WHITESPACE = " \t\n\r\x0b\x0c"


def tagged(model: str) -> str:
    """The name with its tag made explicit (``all-minilm`` is ``all-minilm:latest``; a registry path is kept)."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:{TAG}"


def full_name(model: str) -> str:
    """The name as Ollama reads it, ``host/namespace/model:tag`` (the parts before the model counted from the right)."""
    name = tagged(model.strip(WHITESPACE))
    defaults = [HOST, NAMESPACE][:max(0, 2 - name.count("/"))]
    return "/".join([*defaults, name])


def same_model(a: str, b: str) -> bool:
    """Whether two names are one Ollama model."""
    return full_name(a) == full_name(b)


def _trimmed_sql(p: sql.Composable) -> sql.Composed:
    """``p`` without the whitespace around it (``WHITESPACE``), as ``full_name`` reads a name."""
    return sql.SQL("btrim({}, {})").format(p, sql.Literal(WHITESPACE))


def _full_sql(p: sql.Composable) -> sql.Composed:
    """``full_name`` of ``p`` in SQL."""
    tagged_p = sql.SQL("CASE WHEN strpos(regexp_replace({p}, '^.*/', ''), ':') > 0 THEN {p} ELSE {p} || {tag} END").format(
        p=p, tag=sql.Literal(f":{TAG}"))
    return sql.SQL("CASE length({t}) - length(replace({t}, '/', '')) WHEN 0 THEN {both} || {t} WHEN 1 THEN {host} || {t} "
                   "ELSE {t} END").format(t=tagged_p, both=sql.Literal(f"{HOST}/{NAMESPACE}/"), host=sql.Literal(f"{HOST}/"))


def is_model(stored: sql.Composable, param: str = "model") -> sql.Composed:
    """SQL: ``stored`` names the model of ``%(param)s`` (any spelling of its ``full_name``: with or without the default
    host, namespace and tag); NULL where ``stored`` is. The spellings are computed on the parameter, so each row costs
    one list comparison (and a trim of ``stored``)."""
    # text, whatever the column: a parameter compared with a varchar column and passed to text functions in one
    # statement is deduced two types ("inconsistent types deduced for parameter")
    full = _full_sql(_trimmed_sql(sql.SQL("{}::text").format(sql.Placeholder(param))))
    short = [full, sql.SQL("regexp_replace({}, {}, '')").format(full, sql.Literal(f"^{HOST.replace('.', '[.]')}/")),
             sql.SQL("regexp_replace({}, {}, '')").format(full, sql.Literal(f"^{HOST.replace('.', '[.]')}/{NAMESPACE}/"))]
    spellings = [*short, *(sql.SQL("regexp_replace({}, {}, '')").format(s, sql.Literal(f":{TAG}$")) for s in short)]
    return sql.SQL("{m} IN ({s})").format(m=_trimmed_sql(sql.SQL("{}::text").format(stored)),
                                          s=sql.SQL(", ").join(spellings))


def other_model(stored: sql.Composable, param: str = "model") -> sql.Composed:
    """SQL: ``stored`` is not the model of ``%(param)s`` (a NULL name is another model's, as IS DISTINCT FROM says)."""
    return sql.SQL("({m} IS NULL OR NOT {same})").format(m=stored, same=is_model(stored, param))
