"""locate reads the JSON documents code writes from a literal object of fields (what chunks.text_json says): each
member's key and the field its value reads, and the spelling the call's flags give."""

import pytest

from harness.locate.json_documents import scan

PHP = """<?php
$content = json_encode([
    'id'          => $data['id'],
    'title'       => $course->getTitle(),
    'publishedAt' => $course->getPublishedAt()?->format('Y-m-d'),
], JSON_THROW_ON_ERROR);
"""


def test_php_json_encode_names_each_members_field_and_its_default_spelling():
    [found] = scan("src/Import.php", PHP, "php")
    assert (found.line, found.style, found.members) == (
        2, "php", (("id", "id"), ("title", "title"), ("publishedAt", "published_at"))), found


@pytest.mark.parametrize("rel, code, language, style", [
    ("a.php", "json_encode(['a' => $r['a'], 'b' => $r['b']], JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)", "php", "js"),
    ("a.php", "json_encode(['a' => $r['a'], 'b' => $r['b']], JSON_PRETTY_PRINT)", "php", None),
    ("a.ts", "const text = JSON.stringify({ title: doc.title, body: row['content'] });", "js", "js"),
    ("a.ts", "JSON.stringify({ title: doc.title, body: doc.body }, null, 2)", "js", None),
    ("a.py", "json.dumps({'title': c.title, 'text': c['text']})", "python", "python"),
    ("a.py", "json.dumps({'title': c.title, 'text': c['text']}, ensure_ascii=False, separators=(',', ':'))", "python", "js"),
    ("a.py", "json.dumps({'title': c.title, 'text': c['text']}, indent=2)", "python", None),
])
def test_the_calls_flags_say_the_spelling_and_one_no_style_reproduces_is_none(rel, code, language, style):
    [found] = scan(rel, code, language)
    assert found.style == style, found


def test_an_object_of_one_member_or_of_computed_keys_is_no_document():
    assert scan("a.ts", "JSON.stringify({ query })", "js") == []
    assert scan("a.py", "json.dumps({**row, 'text': t})", "python") == []


def test_a_request_body_to_a_models_api_is_no_document():
    assert scan("a.ts", "body: JSON.stringify({ model: EMBED_MODEL, input: chunk.text })", "js") == []
