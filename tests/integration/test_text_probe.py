"""profile init measures which text the stored vectors embed: a column, or two joined as the application joins them."""

import hashlib
import json

import numpy as np
import psycopg
from psycopg.rows import dict_row

from harness.discover import discover
from harness.locate.json_documents import JsonDocument
from harness.text_probe import measure_text

DIMS = 16


def exact(texts):
    """An embedder that tells every text apart, separators included (as a real model does; hash-embed does not)."""
    out = []
    for t in texts:
        v = np.frombuffer(hashlib.sha256(t.encode()).digest()[:DIMS], dtype=np.uint8).astype(np.float64) - 127.5
        out.append(v / np.linalg.norm(v))
    return out


def insights(db, embedded_as) -> None:
    db.execute(f'CREATE TABLE "Insight" (id text PRIMARY KEY, "environmentId" text NOT NULL, title text NOT NULL, '
               f'description text NOT NULL, vector vector({DIMS}))')
    rows = [(f"c{i:02d}", "env1", f"Title {i}", f"what users said about topic {i}") for i in range(6)]
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for key, env, title, description in rows:
            vector = exact([embedded_as(title, description)])[0]
            conn.execute('INSERT INTO "Insight" VALUES (%s, %s, %s, %s, %s::vector)',
                         (key, env, title, description, str(vector.tolist())))


def measured(db):
    with psycopg.connect(db.dsn, row_factory=dict_row) as conn:
        shape = discover(conn)[0]
        return shape, measure_text(conn, shape, exact, "m")


def test_two_columns_joined_by_the_applications_separator_are_found(empty_db):
    insights(empty_db, lambda t, d: f"{t}: {d}")  # formbricks' getInsightVectorText
    shape, found = measured(empty_db)
    assert shape.text.column == "description"  # what the names alone suggest
    assert (found.columns, found.separator, found.matched) == (("title", "description"), ": ", True), found.why


def test_the_guessed_column_is_confirmed_when_it_is_what_was_embedded(empty_db):
    insights(empty_db, lambda t, d: d)
    _, found = measured(empty_db)
    assert (found.columns, found.matched) == (("description",), True)
    assert "5 of the 5 rows read" in found.why


def test_texts_edited_since_their_vectors_in_a_minority_of_rows_do_not_hide_the_text(empty_db):
    insights(empty_db, lambda t, d: f"{t}: {d}")
    empty_db.execute('UPDATE "Insight" SET description = description || \' (edited)\' WHERE id IN (\'c00\', \'c01\')')
    _, found = measured(empty_db)
    assert found.matched and found.columns == ("title", "description") and "3 of the 5" in found.why


def test_a_text_no_composition_reproduces_is_said_and_the_guess_kept(empty_db):
    insights(empty_db, lambda t, d: f"summary: {t}\n{d}")  # a prefix the columns do not hold, of no known model
    _, found = measured(empty_db)
    assert not found.matched and found.columns == ("description",)
    assert found.why.startswith("not measured: no column of description, title") and "at best 0" in found.why


def test_a_models_task_prefix_before_the_text_is_measured(empty_db):
    """nomic-embed-text's application embeds `search_document: ` + the text: that prefix is found, and said."""
    insights(empty_db, lambda t, d: f"search_document: {d}")
    _, found = measured(empty_db)
    assert (found.columns, found.prefix, found.matched) == (("description",), "search_document: ", True), found.why
    assert "'search_document: ' before description" in found.why


def test_a_task_prefix_before_two_joined_columns_is_measured(empty_db):
    insights(empty_db, lambda t, d: f"passage: {t}\n{d}")  # e5's document prefix
    _, found = measured(empty_db)
    assert (found.columns, found.separator, found.prefix) == (("title", "description"), "\n", "passage: "), found.why


def test_text_the_vectors_embed_without_a_prefix_is_measured_with_none(empty_db):
    insights(empty_db, lambda t, d: d)
    _, found = measured(empty_db)
    assert found.matched and found.prefix == ""


def test_vectors_padded_with_zeros_to_a_wider_column_are_measured_by_the_models_part(empty_db):
    """Letta and Open WebUI pad each model vector with zeros to the column: the padded vector is the model's."""
    empty_db.execute(f'CREATE TABLE "Insight" (id text PRIMARY KEY, "environmentId" text NOT NULL, title text NOT NULL, '
                     f'description text NOT NULL, vector vector({2 * DIMS}))')
    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        for i in range(6):
            title, description = f"Title {i}", f"what users said about topic {i}"
            padded = exact([f"{title}: {description}"])[0].tolist() + [0.0] * DIMS
            conn.execute('INSERT INTO "Insight" VALUES (%s, %s, %s, %s, %s::vector)',
                         (f"c{i:02d}", "env1", title, description, str(padded)))
    _, found = measured(empty_db)
    assert (found.columns, found.separator, found.matched) == (("title", "description"), ": ", True), found.why


def test_a_column_within_the_match_of_a_long_text_gives_way_to_the_composition_that_reproduces_it(empty_db):
    """A long description is within cosine 0.999 of 'title: description' under a model that weighs words (a title of
    two words in 300): the column alone passed as measured, though the pair reproduces the vectors exactly."""
    def words(texts):
        out = []
        for t in texts:
            v = np.zeros(4 * DIMS)
            for w in t.split():
                v[int(hashlib.sha256(w.encode()).hexdigest(), 16) % (4 * DIMS)] += 1.0
            out.append(v / np.linalg.norm(v))
        return out

    empty_db.execute(f'CREATE TABLE "Insight" (id text PRIMARY KEY, "environmentId" text NOT NULL, title text NOT NULL, '
                     f'description text NOT NULL, vector vector({4 * DIMS}))')
    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        for i in range(6):
            title, description = f"Title{i} x", " ".join(f"w{j % 97}" for j in range(i, i + 300))
            conn.execute('INSERT INTO "Insight" VALUES (%s, %s, %s, %s, %s::vector)',
                         (f"c{i:02d}", "env1", title, description, str(words([f"{title}: {description}"])[0].tolist())))
    with psycopg.connect(empty_db.dsn, row_factory=dict_row) as conn:
        shape = discover(conn)[0]
        found = measure_text(conn, shape, words, "m")
    assert (found.columns, found.separator, found.matched) == (("title", "description"), ": ", True), found.why


def documents_with_meta(db, embedded_as, untitled=()) -> None:
    """Haystack's PgvectorDocumentStore shape: the text in `content`, the document's fields in `meta jsonb`."""
    db.execute(f"CREATE TABLE haystack_documents (id varchar(128) PRIMARY KEY, embedding vector({DIMS}), content text, "
               "blob_data bytea, blob_meta jsonb, blob_mime_type varchar(255), meta jsonb)")
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for i in range(6):
            meta = {"title": f"Article {i % 2}", "file_path": f"article_{i % 2}.txt", "split_id": i}
            if i in untitled:
                del meta["title"]
            content = f"passage {i} of the article about topic {i}"
            vector = exact([embedded_as(meta.get("title"), content)])[0]
            conn.execute("INSERT INTO haystack_documents (id, embedding, content, meta) VALUES (%s, %s::vector, %s, %s)",
                         (f"d{i}", str(vector.tolist()), content, psycopg.types.json.Jsonb(meta)))


def test_a_title_under_a_key_of_a_json_column_joined_before_the_text_is_found(empty_db):
    """Haystack's OllamaDocumentEmbedder with meta_fields_to_embed=["title"] embeds the document's title, then the
    content: the composition is found among the JSON column's string keys too."""
    documents_with_meta(empty_db, lambda title, content: f"{title} {content}")
    shape, found = measured(empty_db)
    assert shape.text.column == "content"
    assert (found.columns, found.separator, found.matched) == (("meta->>'title'", "content"), " ", True), found.why


def test_a_title_some_documents_lack_is_still_found_joined_before_the_text(empty_db):
    """A document without the meta field is embedded with its content alone (Haystack skips a missing field): the
    key, left out of the citations for the rows lacking it, is still a part of the composition."""
    documents_with_meta(empty_db, lambda title, content: f"{title} {content}" if title else content, untitled=(0,))
    shape, found = measured(empty_db)
    assert "meta->>'title'" not in shape.sources
    assert (found.columns, found.separator, found.matched) == (("meta->>'title'", "content"), " ", True), found.why


def documents_and_chunks(db, titled: set[int]) -> None:
    """cortex's shape: chunks under a document through a foreign key, the document's title in the parent table; the
    chunks of ``titled`` embedded as the title, a newline, then their content, the others as their content."""
    db.execute("CREATE TABLE documents (id text PRIMARY KEY, title varchar NOT NULL, content text NOT NULL);"
               f'CREATE TABLE document_chunks (id text PRIMARY KEY, content text NOT NULL, "chunkIndex" integer NOT NULL, '
               f'embedding vector({DIMS}) NOT NULL, "documentId" text NOT NULL REFERENCES documents(id))')
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for d in range(3):
            conn.execute("INSERT INTO documents VALUES (%s, %s, '')", (f"d{d}", f"Devlog {d}: the ingestion pipeline"))
        for i in range(6):
            content, doc = f"paragraph {i} of the devlog", f"d{i % 3}"
            text = f"Devlog {i % 3}: the ingestion pipeline\n{content}" if i in titled else content
            conn.execute("INSERT INTO document_chunks VALUES (%s, %s, %s, %s::vector, %s)",
                         (f"c{i:02d}", content, i // 3, str(exact([text])[0].tolist()), doc))


TITLE_PART = '{(SELECT p.title FROM public.documents p WHERE p.id = "documentId")}'


def test_a_parents_title_joined_before_every_chunk_is_measured_through_the_foreign_key(empty_db):
    """A chunk embedded after its document's title (a column of another table): no column of the chunk table
    reproduces the vectors (the draft said `not measured ... check what it embeds`); the title through the foreign
    key, joined by the application's separator, does, and is written as a part chunks.text can hold."""
    documents_and_chunks(empty_db, titled=set(range(6)))
    shape, found = measured(empty_db)
    assert (found.columns, found.separator, found.matched) == ((TITLE_PART, "content"), "\n", True), found.why
    assert "documents.title (through document_chunks.documentId) and content joined by '\\n'" in found.why, found.why


def test_the_rows_read_that_a_parents_title_before_the_text_reproduces_are_said_beside_the_text(empty_db):
    """cortex embeds its title before each document's first chunk only: content reproduces most rows read, and the
    draft now says which of the others reproduce with the title before them (it said only `3 of the 5 rows read`)."""
    documents_and_chunks(empty_db, titled={0, 1})
    _, found = measured(empty_db)
    assert (found.columns, found.matched) == (("content",), True) and "3 of the 5 rows read" in found.why, found.why
    assert ("; the other 2 (c00, c01) reproduce with documents.title (through document_chunks.documentId) joined "
            "before content by '\\n': the application embeds that for some rows; chunks.text can say which with an "
            f"expression, the title being {TITLE_PART}") in found.why, found.why


def _courses(db, spelled) -> None:
    """Courses whose vectors embed a JSON document of their fields, as ``spelled`` writes it."""
    db.execute(f"CREATE TABLE courses (id char(4) PRIMARY KEY, name text NOT NULL, summary text, categories jsonb NOT NULL, "
               f"published_at date NOT NULL, embedding vector({DIMS}))")
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for i in range(6):
            course = {"id": f"c{i:03d}", "name": f"Curso {i}/{i + 1}", "summary": f"Aprende diseño número {i}",
                      "categories": ["backend", f"tema-{i}"], "publishedAt": f"2024-0{i + 1}-12"}
            vector = exact([spelled(course)])[0]
            conn.execute("INSERT INTO courses VALUES (%s, %s, %s, %s, %s, %s::vector)",
                         (course["id"], course["name"], course["summary"], json.dumps(course["categories"]),
                          course["publishedAt"], str(vector.tolist())))


PHP_IMPORTER = JsonDocument("src/Command/Import.php", 49, "php", (
    ("id", "id"), ("name", "name"), ("summary", "summary"), ("categories", "categories"),
    ("publishedAt", "published_at")))


def test_a_json_document_the_code_writes_is_measured_in_its_serializers_spelling(empty_db):
    _courses(empty_db, lambda c: json.dumps(c, separators=(",", ":")).replace("/", "\\/"))  # PHP's json_encode
    with psycopg.connect(empty_db.dsn, row_factory=dict_row) as conn:
        shape = discover(conn)[0]
        found = measure_text(conn, shape, exact, "m", documents=[PHP_IMPORTER])
    assert (found.matched, found.json_style, found.json_keys, found.columns) == (
        True, "php", ("id", "name", "summary", "categories", "publishedAt"),
        ("id", "name", "summary", "categories", "published_at")), found.why
    assert "src/Command/Import.php:49" in found.why and "5 of the 5 rows read" in found.why, found.why


def test_a_json_document_spelled_otherwise_than_its_call_says_is_not_taken(empty_db):
    # JSON.stringify's spelling (`/` and every letter as they are) where the code's json_encode would escape them
    _courses(empty_db, lambda c: json.dumps(c, separators=(",", ":"), ensure_ascii=False))
    with psycopg.connect(empty_db.dsn, row_factory=dict_row) as conn:
        shape = discover(conn)[0]
        found = measure_text(conn, shape, exact, "m", documents=[PHP_IMPORTER])
    assert not found.matched and found.json_style is None, found.why


def test_a_python_document_of_a_float_column_is_measured_as_json_dumps_writes_the_floats(empty_db):
    """psycopg reads `double precision` as floats, which json.dumps writes `4.0`: the measure read each value as JSON
    (`4`, an int) and spelled it `4`, so the application's own documents matched no style and the draft lost them."""
    empty_db.execute(f"CREATE TABLE scores (id int PRIMARY KEY, name text NOT NULL, score float8, embedding vector({DIMS}))")
    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        for i in range(6):
            row = {"name": f"player {i}", "score": float(10 * i)}
            conn.execute("INSERT INTO scores VALUES (%s, %s, %s, %s::vector)",
                         (i, row["name"], row["score"], str(exact([json.dumps(row)])[0].tolist())))
    document = JsonDocument("app/ingest.py", 12, "python", (("name", "name"), ("score", "score")))
    with psycopg.connect(empty_db.dsn, row_factory=dict_row) as conn:
        found = measure_text(conn, discover(conn)[0], exact, "m", documents=[document])
    assert (found.matched, found.json_style, found.columns) == (True, "python", ("name", "score")), found.why
