"""The historylog survives concurrent writers, detects every kind of tampering, and is never corrupted by a
run folder that is read-only or out of space."""

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import historylog
from harness.historylog import HistoryEntry, append, read_entries, split, verify

from ..conftest import REPO, TEST_MODEL

WRITERS = 2
PER_WRITER = 8


def _entry(label: str) -> HistoryEntry:
    return HistoryEntry(when="2026-11-24T14:00:00Z", who="reliability", collection="tenant_globex",
                        profile="ragapp-demo", model=TEST_MODEL, outcome="succeeded", command=f"backfill {label}",
                        exit_code=0, failed_rows=0)


def _log(tmp_path: Path, n: int = 5) -> Path:
    path = tmp_path / "historylog.md"
    for i in range(n):
        append(path, _entry(f"#{i}"))
    return path


def _writer(path: str, writer: int, barrier) -> None:
    barrier.wait()
    for i in range(PER_WRITER):
        append(path, _entry(f"w{writer}-{i}"))


def test_concurrent_writers_keep_every_entry_in_order_and_the_chain_verifies(tmp_path):
    path = tmp_path / "historylog.md"
    append(path, _entry("first"))
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_writer, args=(str(path), w, barrier)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    report = verify(path)
    assert report.ok, report.text()
    commands = [e.command for e in read_entries(path)]
    assert len(commands) == 1 + WRITERS * PER_WRITER and commands[-1] == "backfill first"
    for w in range(WRITERS):
        mine = [c for c in commands if c.startswith(f"backfill w{w}-")]
        # newest first: each writer's entries appear in the reverse of the order it wrote them
        assert mine == [f"backfill w{w}-{i}" for i in reversed(range(PER_WRITER))]


def _rewrite(path: Path, blocks) -> None:
    log = split(path.read_text(encoding="utf-8"))
    path.write_text(log.header + "".join(f"<!-- entry sha256={sha} -->\n{body}\n" for sha, body in blocks),
                    encoding="utf-8")


def test_rewriting_an_untouched_log_verifies(tmp_path):
    path = _log(tmp_path)
    _rewrite(path, split(path.read_text()).blocks)
    assert verify(path).ok


def _edit(blocks):
    sha, body = blocks[2]
    assert "backfill #2" in body
    return [*blocks[:2], (sha, body.replace("backfill #2", "backfill #9")), *blocks[3:]]


def _edit_and_rehash(blocks):
    sha, body = blocks[2]
    assert "exit code: 0" in body
    body = body.replace("exit code: 0", "exit code: 1")
    return [*blocks[:2], (historylog.entry_hash(body), body), *blocks[3:]]


TAMPERING = {
    "edited": _edit,
    "edited_with_its_marker_rehashed": _edit_and_rehash,
    "middle_entry_deleted": lambda b: [*b[:2], *b[3:]],
    "oldest_entry_deleted": lambda b: b[:-1],
    "newest_entry_deleted": lambda b: b[1:],
    "reordered": lambda b: [b[0], b[2], b[1], *b[3:]],
    "inserted_copy": lambda b: [b[0], b[1], b[1], *b[2:]],
}


@pytest.mark.parametrize("how", TAMPERING)
def test_tampering_is_detected(how, tmp_path, cli):
    path = _log(tmp_path)
    _rewrite(path, TAMPERING[how](list(split(path.read_text()).blocks)))
    report = verify(path)
    assert not report.ok
    result = cli("historylog", "verify", "--path", path)
    assert result.code == 1 and "chain BROKEN" in result.out


def test_a_forged_entry_inserted_with_a_valid_hash_is_detected(tmp_path):
    path = _log(tmp_path)
    blocks = list(split(path.read_text()).blocks)
    forged_body = historylog.render_entry(historylog.replace(_entry("forged").normalised(), prev=blocks[2][0]))
    _rewrite(path, [blocks[0], blocks[1], (historylog.entry_hash(forged_body), forged_body), *blocks[2:]])
    report = verify(path)
    assert not report.ok and any("deleted, inserted or moved" in p.problem for p in report.problems), report.text()


def _without_root_overrides() -> list[str]:
    """A command prefix under which file modes bind: root ignores them unless it drops these capabilities."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


_APPEND = (
    "import sys\n"
    "from harness.historylog import HistoryEntry, append\n"
    "from harness.errors import HarnessError\n"
    "e = HistoryEntry(when='t', who='w', collection='c', profile='p', model='m', outcome='failed', reason='x' * 400)\n"
    "try:\n"
    "    append(sys.argv[1], e)\n"
    "except HarnessError as exc:\n"
    "    print(exc, file=sys.stderr)\n"
    "    sys.exit(1)\n"
)


def _file_size_limit(max_file_bytes: int | None) -> list[str]:
    """A command prefix that caps the size of any file the command writes (a full disk, as the child sees it).

    ``prlimit`` rather than a ``preexec_fn``: running Python between fork and exec would also run the at-fork hooks
    other libraries in this test process registered (pgai's ddtrace starts a runtime there, whose panic then lands
    in the child's stderr).
    """
    return [] if max_file_bytes is None else ["prlimit", f"--fsize={max_file_bytes}", "--"]


def _append_in_child(path: Path, *, prefix: list[str] = (), max_file_bytes: int | None = None):
    return subprocess.run([*_file_size_limit(max_file_bytes), *prefix, sys.executable, "-c", _APPEND, str(path)],
                          cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def test_a_full_disk_gives_one_clear_line_and_leaves_the_historylog_whole(tmp_path):
    path = _log(tmp_path, 3)
    before = path.read_bytes()
    result = _append_in_child(path, max_file_bytes=len(before) + 100)
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith(f"cannot write historylog {path}: File too large")
    assert path.read_bytes() == before and verify(path).ok
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # no temp file left behind


def test_a_read_only_folder_gives_one_clear_line_and_leaves_the_historylog_whole(tmp_path):
    folder = tmp_path / "readonly"
    folder.mkdir()
    path = _log(folder, 3)
    before = path.read_bytes()
    folder.chmod(0o555)
    try:
        result = _append_in_child(path, prefix=_without_root_overrides())
    finally:
        folder.chmod(0o755)
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "cannot write historylog" in line and "Permission denied" in line
    assert path.read_bytes() == before and verify(path).ok


def test_run_json_on_a_full_disk_is_a_clear_error_and_no_half_file(tmp_path):
    code = ("import sys\nfrom harness.evidence import write_json_atomic\nfrom harness.errors import HarnessError\n"
            "try:\n    write_json_atomic(sys.argv[1], {'output_tail': 'x' * 100000})\n"
            "except HarnessError as exc:\n    print(exc, file=sys.stderr)\n    sys.exit(1)\n")
    target = tmp_path / "run" / "run.json"
    result = subprocess.run([*_file_size_limit(4096), sys.executable, "-c", code, str(target)], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"cannot write {target}: File too large; expected a writable folder")
    assert not target.exists() and list(target.parent.iterdir()) == []


def _procedure_in_child(tmp_path, db, demo_env, run_dir, *, prefix=(), max_file_bytes=None):
    raw = yaml.safe_load((REPO / "examples/ragapp/profile.yaml").read_text())
    del raw["backfill"]["command"]
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(raw))

    return subprocess.run(
        [*_file_size_limit(max_file_bytes), *prefix, sys.executable, "-m", "harness", "procedure", "--profile", str(profile), "--collection", "tenant_acme",
         "--engine", "--run-dir", str(run_dir), "--historylog", str(tmp_path / "historylog.md")],
        cwd=REPO, env={**os.environ, **demo_env, "DATABASE_URL": db.dsn, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True, text=True, timeout=120)


def test_procedure_with_a_read_only_run_folder_stops_clearly_and_records_a_failed_entry(tmp_path, demo_db, demo_env):
    path = _log(tmp_path, 2)
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = _procedure_in_child(tmp_path, demo_db, demo_env, folder / "run", prefix=_without_root_overrides())
    finally:
        folder.chmod(0o755)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Stopped at plan: cannot write" in result.stdout and "Permission denied" in result.stdout
    entries = read_entries(path)
    assert [e.outcome for e in entries] == ["failed", "succeeded", "succeeded"] and verify(path).ok
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings") == 0


def test_procedure_on_a_full_disk_stops_clearly_and_leaves_the_historylog_whole(tmp_path, demo_db, demo_env):
    path = _log(tmp_path, 2)
    before = path.read_bytes()
    result = _procedure_in_child(tmp_path, demo_db, demo_env, tmp_path / "run", max_file_bytes=len(before) + 200)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "File too large" in result.stdout
    assert path.read_bytes() == before and verify(path).ok
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings") == 0
