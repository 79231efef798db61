"""offenders.jsonl and `backfill --keys-from`: only chunk keys are re-embedded."""

import json

from harness.backfill.selection import read_keys
from harness.checks import offenders
from harness.checks.outcome import Offender, verdict


def test_a_source_row_without_chunks_is_written_as_a_source_row_and_never_read_back_as_a_chunk_key(tmp_path):
    """nextjs-openai-doc-search: source_coverage listed page 2 (a nods_page row whose sections were deleted), and
    `backfill --keys-from` re-embedded section 2, a healthy chunk that merely shares the number."""
    failed = verdict("source_coverage", "docs", False, "every page has chunks", "1 without chunks")
    failed = type(failed)(**{**failed.__dict__, "offenders": (
        Offender(2, "docs", None, "nods_page row has no chunks", table="public.nods_page"),
        Offender(7, "docs", None, "chunk names no nods_page row"))})
    path = offenders.write(tmp_path / "offenders.jsonl", [failed])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert (lines[0]["key"], lines[0]["source_table"], lines[0]["source_key"]) == (None, "public.nods_page", 2)
    assert lines[1]["key"] == 7 and "source_table" not in lines[1]
    assert read_keys(str(path), "docs") == ("7",)


def test_a_line_naming_a_source_table_is_never_a_chunk_key_whatever_its_key_says(tmp_path):
    # A hand-merged file (or another tool) that copied source_key into key: page 2 is still no chunk 2.
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps({"check": "source_coverage", "key": 2, "source_table": "public.nods_page",
                                "source_key": 2, "collection": "docs"}) + "\n"
                    + json.dumps({"check": "recompute", "key": 7, "collection": "docs"}) + "\n9\n")
    assert read_keys(str(path), "docs") == ("7", "9")


def test_the_findings_that_name_no_chunk_are_said_with_their_rows(tmp_path):
    """A source row without chunks (Quivr's knowledge row whose chunks were never stored) is nothing `--keys-from` can
    re-embed: it is said, not silently left out of the count."""
    from harness.backfill.selection import findings_without_chunks

    path = tmp_path / "offenders.jsonl"
    path.write_text(json.dumps({"check": "source_coverage", "key": None, "source_table": "knowledge",
                                "source_key": "4444", "collection": "handbook"}) + "\n"
                    + json.dumps({"check": "source_coverage", "key": None, "source_table": "knowledge",
                                  "source_key": "5555", "collection": "research"}) + "\n"
                    + json.dumps({"check": "recompute", "key": 7, "collection": "handbook"}) + "\n")
    assert findings_without_chunks(str(path), "handbook") == ["source_coverage: knowledge 4444"]
