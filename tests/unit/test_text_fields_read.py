"""What a ``chunks.text``-form item reads of a row (``text_parts.fields_read``): ``fresh`` compares what the text
embeds with what ``embeddings.input_hash_of`` hashes, and an embedded field no hash reads is unproven."""

from harness.text_parts import fields_read

COLUMNS = {"title", "body", "meta", "Kind"}


def test_fields_and_labelled_parts_read_their_fields():
    assert fields_read(("title: {title}", "body", "meta->>lang"), COLUMNS) == {"title", "body", "meta->>lang"}


def test_an_expression_reads_the_columns_it_names_outside_its_string_literals():
    assert fields_read(("{left(body, 40) || ' title ' || \"Kind\"}",), COLUMNS) == {"body", "Kind"}
    assert fields_read(("{upper(BODY)}",), COLUMNS) == {"body"}  # unquoted: folded, as Postgres reads it


def test_a_part_with_a_subquery_reads_other_rows_and_a_plain_expression_does_not():
    from harness.text_parts import other_rows_read

    title = "{(SELECT d.title FROM docs d WHERE d.id = doc_id)}"
    assert other_rows_read((title, "body", "{left(body, 40)}")) == (title[1:-1],)
    # the word inside a string literal or a quoted name is no subquery
    assert other_rows_read(("{'select ' || body}", "{\"select\" || body}", "select: {body}")) == ()
