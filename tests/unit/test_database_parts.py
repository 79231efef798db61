"""The DSN split into the parts a target reads separately (host, port, user, password, name)."""

from harness.steps.common import database_parts


def test_a_dsn_without_a_port_gives_the_port_libpq_connects_to(monkeypatch):
    # A JDBC URL the draft builds for Spring (`jdbc:postgresql://{database_host}:{database_port}/...`) had no value.
    monkeypatch.delenv("PGPORT", raising=False)
    assert database_parts("postgresql://app:secret@db.internal/rag")["database_port"] == "5432"


def test_a_dsn_without_a_port_gives_pgport_where_libpq_would_read_it(monkeypatch):
    monkeypatch.setenv("PGPORT", "6543")
    assert database_parts("postgresql://app:secret@db.internal/rag")["database_port"] == "6543"


def test_a_dsns_own_port_wins(monkeypatch):
    monkeypatch.setenv("PGPORT", "6543")
    assert database_parts("postgresql://app:secret@db.internal:5433/rag")["database_port"] == "5433"
