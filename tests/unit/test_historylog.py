"""The historylog: entries read back into the same data, a SHA-256 chain that exposes tampering, safe appends."""

import multiprocessing
import re

import pytest

from harness import historylog
from harness.historylog import CheckOutcome, HistoryEntry
from harness.redact import register


def entry(collection="tenant_acme", **changes) -> HistoryEntry:
    base = dict(
        when="2026-11-24T14:00:00Z", who="alice", collection=collection, profile="ragapp-demo",
        model="hash-embed:384", outcome="succeeded", target_collection=collection, dimensions=384,
        chunking={"max_chunk_size": 800, "overlap": 100}, batch_size=100,
        command="python -m examples.ragapp.backfill_embeddings --collection " + collection,
        settings={"EMBED_MODEL": "hash-embed:384", "OLLAMA_HOST": "http://127.0.0.1:11434", "NOTE": "two words"},
        counts_before={"chunks": 107, "embedded": 0, "stale": None}, counts_after={"chunks": 107, "embedded": 107},
        duration_s=3.25, exit_code=0, failed_rows=0, repo_commit="abc123", run_dir="runs/x",
        checks=(CheckOutcome("coverage", "passed"), CheckOutcome("fresh", "failed", "expected 0 stale, found 3: ids 1, 2, 3"),
                CheckOutcome("citations", "skipped", "no spot queries")),
    )
    return HistoryEntry(**{**base, **changes})


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "historylog.md"
    for name in ("global_corpus", "tenant_acme", "tenant_globex"):
        historylog.append(path, entry(name))
    return path


def test_an_entry_reads_back_into_the_same_data(tmp_path):
    path = tmp_path / "historylog.md"
    written = historylog.append(path, entry())
    (read,) = historylog.read_entries(path)
    assert read == written
    assert read.checks[1] == CheckOutcome("fresh", "failed", "expected 0 stale, found 3: ids 1, 2, 3")
    assert read.counts_before == {"chunks": 107, "embedded": 0, "stale": None}


def test_an_entry_of_truncated_vectors_says_so_and_reads_back(tmp_path):
    path = tmp_path / "historylog.md"
    said = "the model's vectors truncated to 128 and re-normalised (Ollama's dimensions, provider.request_dimensions)"
    written = historylog.append(path, entry(dimensions=128, truncation=said))
    assert f"- truncation: {said}" in path.read_text()
    (read,) = historylog.read_entries(path)
    assert read == written and read.truncation == said
    assert historylog.verify(path).ok


def test_a_command_with_backticks_reads_back_unchanged(tmp_path):
    path = tmp_path / "historylog.md"
    historylog.append(path, entry(command="sh -c 'echo `date`'"))
    assert historylog.read_entries(path)[0].command == "sh -c 'echo `date`'"


def test_entries_are_newest_first_below_the_header(log):
    text = log.read_text()
    assert text.startswith("# historylog")
    assert [e.collection for e in historylog.read_entries(log)] == ["tenant_globex", "tenant_acme", "global_corpus"]
    head = re.search(r"^<!-- historylog head=", text, re.M).start()
    assert head < re.search(r"^<!-- entry sha256=", text, re.M).start()


def test_each_entry_carries_the_hash_of_the_previous_one(log):
    entries = historylog.read_entries(log)
    assert entries[0].prev == entries[1].sha256 and entries[1].prev == entries[2].sha256
    assert entries[2].prev == historylog.GENESIS


def test_an_intact_log_verifies(log):
    report = historylog.verify(log)
    assert report.ok and report.entries == 3


def test_an_edited_entry_is_detected(log):
    log.write_text(log.read_text().replace("- failed rows: 0", "- failed rows: 5", 1))
    report = historylog.verify(log)
    assert not report.ok and any(p.entry == 1 and "edited" in p.problem for p in report.problems)


def test_an_edited_oldest_entry_is_detected(log):
    text = log.read_text()
    at = text.rindex("- exit code: 0")
    log.write_text(text[:at] + "- exit code: 1" + text[at + len("- exit code: 0"):])
    assert any(p.entry == 3 for p in historylog.verify(log).problems)


def blocks(text):
    starts = [m.start() for m in re.finditer(r"^<!-- entry sha256=", text, re.M)]
    return text[: starts[0]], [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


def test_a_deleted_middle_entry_is_detected(log):
    header, parts = blocks(log.read_text())
    log.write_text(header + parts[0] + parts[2])
    assert not historylog.verify(log).ok


def test_a_deleted_newest_entry_is_detected(log):
    header, parts = blocks(log.read_text())
    log.write_text(header + parts[1] + parts[2])
    problems = historylog.verify(log).problems
    assert any(p.entry == 0 and "head" in p.problem for p in problems)


def test_reordered_entries_are_detected(log):
    header, parts = blocks(log.read_text())
    log.write_text(header + parts[1] + parts[0] + parts[2])
    assert not historylog.verify(log).ok


def test_an_inserted_entry_is_detected(log, tmp_path):
    other = tmp_path / "other.md"
    historylog.append(other, entry("forged"))
    _, forged = blocks(other.read_text())
    header, parts = blocks(log.read_text())
    log.write_text(header + parts[0] + forged[0] + parts[1] + parts[2])
    assert not historylog.verify(log).ok


def test_latest_entry_is_the_newest_for_that_collection(tmp_path):
    path = tmp_path / "historylog.md"
    historylog.append(path, entry("tenant_acme", exit_code=3, outcome="failed", failed_rows=None))
    historylog.append(path, entry("global_corpus"))
    latest = historylog.latest_entry(path, "tenant_acme")
    assert (latest.exit_code, latest.failed_rows, latest.outcome) == (3, None, "failed")
    assert latest.when == "2026-11-24T14:00:00Z"
    assert historylog.latest_entry(path, "tenant_nobody") is None


def test_a_secret_is_never_written(tmp_path):
    register("s3cr3t-pass-word")
    path = tmp_path / "historylog.md"
    historylog.append(path, entry(settings={"DATABASE_URL": "postgresql://u:s3cr3t-pass-word@h/db"},
                                  reason="failed to connect with s3cr3t-pass-word"))
    assert "s3cr3t-pass-word" not in path.read_text()


def test_appending_keeps_every_earlier_entry_byte_for_byte(log):
    _, before = blocks(log.read_text())
    historylog.append(log, entry("later"))
    _, after = blocks(log.read_text())
    assert after[1:] == before


def _append_many(path: str, worker: int, n: int) -> None:
    for i in range(n):
        historylog.append(path, entry(f"w{worker}_{i}"))


def test_concurrent_writers_lose_no_entry_and_keep_the_chain(tmp_path):
    path = tmp_path / "historylog.md"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(path), w, 5)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    names = {e.collection for e in historylog.read_entries(path)}
    assert names == {f"w{w}_{i}" for w in range(6) for i in range(5)}
    assert historylog.verify(path).ok


def test_the_repo_historylog_is_a_valid_empty_log():
    from ..conftest import REPO

    report = historylog.verify(REPO / "historylog.md")
    assert report.ok and report.entries == 0


def test_a_hand_kept_log_keeps_its_older_entries_below_the_new_ones(tmp_path):
    path = tmp_path / "historylog.md"
    path.write_text("# agents historylog\n\nNewest first.\n\n## 2024-01-01 backfill global_corpus\n- ran by hand\n")
    historylog.append(path, entry("tenant_acme"))
    historylog.append(path, entry("tenant_globex"))
    text = path.read_text()
    assert text.startswith("# agents historylog\n\nNewest first.")
    assert text.rstrip().endswith("## 2024-01-01 backfill global_corpus\n- ran by hand")
    assert text.index("tenant_globex") < text.index("tenant_acme") < text.index("2024-01-01")
    assert historylog.verify(path).ok and len(historylog.read_entries(path)) == 2


@pytest.mark.parametrize("name", ["—", "\\—", "\\backslash"])
def test_a_collection_or_profile_named_like_the_empty_mark_reads_back_and_verifies(tmp_path, name):
    path = tmp_path / "historylog.md"
    historylog.append(path, entry())
    historylog.append(path, entry(name, profile=name, model=name))
    report = historylog.verify(path)
    assert report.ok, report
    newest = historylog.latest_entry(path, name)
    assert newest is not None and (newest.collection, newest.profile, newest.model) == (name, name, name)


def test_an_entry_named_like_the_empty_mark_breaks_no_other_collections_completed_check(tmp_path):
    """#13 low 11: after a run of a collection named '—' the chain broke, and with it every 'completed' check."""
    from harness.checks.completed import from_historylog

    path = tmp_path / "historylog.md"
    historylog.append(path, entry("tenant_acme", counts_after={"chunks": 107, "embedded": 107, "needed": 0}))
    historylog.append(path, entry("—", profile="—", counts_before={"chunks": 3, "embedded": 0, "stale": None},
                                  counts_after={"chunks": 3, "embedded": 3, "needed": 0}))
    assert from_historylog(path, "tenant_acme").passed
    assert from_historylog(path, "—").passed


def test_the_completed_check_fails_a_newest_entry_edited_by_hand(tmp_path):
    """An entry recording a failed run, edited to read exit code 0, is evidence the chain no longer vouches for."""
    from harness.checks.completed import from_historylog

    path = tmp_path / "historylog.md"
    historylog.append(path, entry("tenant_acme", exit_code=3, outcome="failed",
                                  counts_after={"chunks": 107, "embedded": 100, "needed": 7}))
    path.write_text(path.read_text().replace("- exit code: 3", "- exit code: 0").replace('needed=7', 'needed=0'))
    outcome = from_historylog(path, "tenant_acme")
    assert outcome.status == "failed"
    assert "chain" in outcome.message() and "historylog verify" in outcome.message()


def test_record_refuses_to_append_to_a_log_whose_chain_is_broken_and_writes_nothing(log):
    log.write_text(log.read_text().replace("- failed rows: 0", "- failed rows: 5", 1))
    before = log.read_bytes()
    with pytest.raises(historylog.HistoryLogError, match="chain BROKEN"):
        historylog.append(log, entry("tenant_initech"))
    assert log.read_bytes() == before


def test_chained_entries_moved_below_the_legacy_marker_are_detected(log):
    """The marker keeps hand-kept entries outside the chain; chained ones put below it were dropped from it unsaid."""
    header, parts = blocks(log.read_text())
    header = re.sub(r"head=[0-9a-f]{64} entries=3", "head=none entries=0", header)
    log.write_text(header + historylog.LEGACY_MARKER + "\n\n" + "".join(parts))
    report = historylog.verify(log)
    assert not report.ok and any("below the legacy marker" in p.problem for p in report.problems), report.text()


def _above_the_newest(path, text: str) -> None:
    """Write ``text`` into the log just above its newest entry's marker: the header, which no hash covers."""
    log = path.read_text()
    at = re.search(r"^<!-- entry sha256=", log, re.M).start()
    path.write_text(log[:at] + text + log[at:])


def test_an_unchained_entry_written_by_hand_above_the_newest_is_detected(log):
    """Before: verify said the chain was intact while the log's top read as a newer run that succeeded (what auditors
    read), written by hand in the header above the newest chained entry."""
    _above_the_newest(log, historylog.render_entry(entry("tenant_acme", when="2026-11-25T10:00:00Z")) + "\n\n")
    report = historylog.verify(log)
    assert not report.ok
    assert "header holds entry text outside the chain" in report.problems[0].problem
    assert "## 2026-11-25T10:00:00Z · tenant_acme · succeeded" in report.problems[0].problem


def test_entry_fields_written_by_hand_in_the_header_are_detected(log):
    _above_the_newest(log, "- collection: tenant_acme\n- outcome: succeeded\n\n")
    report = historylog.verify(log)
    assert not report.ok and "- collection: tenant_acme" in report.problems[0].problem


def test_a_header_with_its_own_words_and_lists_verifies(tmp_path):
    path = tmp_path / "historylog.md"
    path.write_text("# agents historylog\n\nNewest first.\n\n- kept by the platform team\n  - see: docs/backfills.md\n")
    historylog.append(path, entry("tenant_acme"))
    assert historylog.verify(path).ok


def test_a_hand_kept_log_whose_first_line_is_an_entry_takes_new_entries_and_verifies(tmp_path):
    """Before: a log kept by hand with no title (its newest entry on the first line) kept that entry as its header,
    where verify reads entry text as written outside the chain: every record after adopting it was refused."""
    path = tmp_path / "historylog.md"
    older = "## 2024-02-01 backfill global_corpus\n- model: nomic-embed-text\n\n## 2024-01-01 backfill global_corpus\n"
    path.write_text(older)
    historylog.append(path, entry("tenant_acme"))
    historylog.append(path, entry("tenant_globex"))
    assert historylog.verify(path).ok and len(historylog.read_entries(path)) == 2
    assert path.read_text().endswith(older)


def test_a_hand_kept_log_of_fields_without_headings_takes_new_entries_and_verifies(tmp_path):
    path = tmp_path / "historylog.md"
    older = "# embeddings\n\n- when: 2024-01-01\n- model: nomic-embed-text\n- outcome: ok\n"
    path.write_text(older)
    historylog.append(path, entry("tenant_acme"))
    historylog.append(path, entry("tenant_globex"))
    assert historylog.verify(path).ok and len(historylog.read_entries(path)) == 2
    assert path.read_text().endswith(older)


def test_an_entry_heading_written_by_hand_as_the_logs_first_line_is_detected(log):
    """Before: the header's first line was never read (a title), so a newer run that succeeded, written there as the
    template's heading in place of the title, verified intact."""
    text = log.read_text()
    log.write_text("## 2026-11-25T10:00:00Z · tenant_acme · succeeded\n" + text.split("\n", 1)[1])
    report = historylog.verify(log)
    assert not report.ok and "## 2026-11-25T10:00:00Z · tenant_acme · succeeded" in report.problems[0].problem
