"""SKILL.md follows the Agent Skills format, and its references into EXAMPLES.md land on the examples they name."""

import re

import pytest

from ..skill_docs import EXAMPLES_MD, SKILL_MD, examples, split_front_matter

NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
ALLOWED_KEYS = {"name", "description", "license", "compatibility", "metadata"}
REFERENCE = re.compile(r"^(\d+)\. \*\*(.+?)\*\* .*See EXAMPLES\.md:(\d+)-(\d+)\s*$")


@pytest.fixture(scope="module")
def front():
    return split_front_matter(SKILL_MD.read_text(encoding="utf-8"))[0]


@pytest.fixture(scope="module")
def body():
    return split_front_matter(SKILL_MD.read_text(encoding="utf-8"))[1]


@pytest.fixture(scope="module")
def documented_examples():
    return {e.number: e for e in examples(EXAMPLES_MD.read_text(encoding="utf-8"))}


def references(body: str) -> list[tuple[int, str, int, int]]:
    return [(int(m[1]), m[2], int(m[3]), int(m[4])) for line in body.splitlines() if (m := REFERENCE.match(line))]


def test_name_is_lowercase_words_joined_by_single_hyphens(front):
    assert NAME.fullmatch(front["name"]) and len(front["name"]) <= 64


def test_name_equals_the_folder_the_skill_installs_under(front):
    from harness.commands.skill import SKILL_NAME

    assert front["name"] == SKILL_NAME == "embedding-backfill"


def test_front_matter_has_only_the_allowed_keys(front):
    assert set(front) <= ALLOWED_KEYS and {"name", "description"} <= set(front)


def test_description_fits_in_1024_characters_without_angle_brackets(front):
    description = front["description"]
    assert isinstance(description, str) and 0 < len(description) <= 1024
    assert "<" not in description and ">" not in description


def test_description_is_written_in_the_third_person(front):
    first_word = front["description"].split()[0]
    assert first_word.endswith("s") and first_word not in {"Use", "Run", "Backfill"}
    assert not re.search(r"\b(I|me|my|you|your)\b", front["description"])


def test_description_says_what_it_does_and_when_to_use_it(front):
    description = front["description"]
    assert "embeddings" in description and "Use it when" in description
    for trigger in ("chunking", "model", "corpus", "restore", "citations"):
        assert trigger in description


def test_body_is_under_500_lines(body):
    assert len(body.splitlines()) < 500


def test_skill_references_every_example(body, documented_examples):
    assert sorted(number for number, *_ in references(body)) == sorted(documented_examples)


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_reference_line_range_covers_exactly_the_example_it_names(body, documented_examples, number):
    (title, first, last), = [(t, f, la) for n, t, f, la in references(body) if n == number]
    example = documented_examples[number]
    lines = EXAMPLES_MD.read_text(encoding="utf-8").splitlines()
    assert lines[first - 1] == f"## Example {number}: {example.title}"
    assert (first, last) == (example.first_line, example.last_line)
    assert title == example.title


def test_examples_are_numbered_one_to_five_in_order(documented_examples):
    assert list(documented_examples) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_each_example_has_trigger_phrases_commands_outputs_and_failure_reading(documented_examples, number):
    example = documented_examples[number]
    text = "\n".join(EXAMPLES_MD.read_text(encoding="utf-8").splitlines()[example.first_line - 1:example.last_line])
    assert "Trigger phrases:" in text and ("Reading a failure:" in text or "What to do:" in text)
    assert example.steps and any(step.expected for step in example.steps)


def test_skill_links_only_one_level_deep():
    text = SKILL_MD.read_text(encoding="utf-8")
    linked = set(re.findall(r"\b([A-Z][A-Z_]+\.md)\b", text))
    assert linked <= {"EXAMPLES.md", "SKILL.md"}
    examples_text = EXAMPLES_MD.read_text(encoding="utf-8")
    assert "EXAMPLES.md:" not in examples_text
