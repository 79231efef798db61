"""When two model names are one model: Ollama reads a name without a tag as its ``:latest`` tag.

An application stores the name it passed (``nomic-embed-text``) and ``ollama list`` shows ``nomic-embed-text:latest``;
both name the same weights, so neither is a model switch, another model's vector, or a stale one. One rule, in
Python (``same_model``) and in SQL against the run's ``%(model)s`` (``is_model``, ``other_model``).
"""

from __future__ import annotations

from psycopg import sql


def tagged(model: str) -> str:
    """The name with its tag made explicit (``all-minilm`` is ``all-minilm:latest``; a registry path is kept)."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def same_model(a: str, b: str) -> bool:
    """Whether two names are one Ollama model."""
    return tagged(a.strip()) == tagged(b.strip())


def is_model(stored: sql.Composable, param: str = "model") -> sql.Composed:
    """SQL: ``stored`` names the model of ``%(param)s`` (the given name, it with ``:latest``, or it without ``:latest``);
    NULL where ``stored`` is. Computed on the parameter, so each row costs one list comparison."""
    p = sql.Placeholder(param)
    return sql.SQL("{m} IN ({p}, CASE WHEN strpos(regexp_replace({p}, '^.*/', ''), ':') > 0 THEN {p} "
                   "ELSE {p} || ':latest' END, regexp_replace({p}, ':latest$', ''))").format(m=stored, p=p)


def other_model(stored: sql.Composable, param: str = "model") -> sql.Composed:
    """SQL: ``stored`` is not the model of ``%(param)s`` (a NULL name is another model's, as IS DISTINCT FROM says)."""
    return sql.SQL("({m} IS NULL OR NOT {same})").format(m=stored, same=is_model(stored, param))
