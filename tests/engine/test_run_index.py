"""RunIndex at scale: what a scan looks at, what it reads again, and the index file it keeps for the next process
(engine.runs.index, engine.runs.index_file), over runs made by real training (tests/helpers/runs_fixture)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.runs import files as store_files
from engine.runs import index as index_module
from engine.runs import set_name, set_tags
from engine.runs.index import RunIndex
from engine.runs.index_file import HEADER, INDEX_FILE, load
from engine.runs.status import RunStatus
from tests.helpers.runs_fixture import mark_running, run_named


@pytest.fixture
def small_index(monkeypatch, runs):
    """An index is kept from 1 run on (SAVE_FROM_RUNS is 100: the fixture has six), and the runs were written
    long ago (a run changed in the last RECENT_NS is watched, and left out of the index, until it settles)."""
    monkeypatch.setattr(index_module, "SAVE_FROM_RUNS", 1)
    for run in runs.iterdir():
        old(run)


@pytest.fixture
def json_reads(monkeypatch) -> list[str]:
    """The paths of every JSON file the store reads (run files, locks), in order."""
    seen: list[str] = []
    read = store_files.read_json

    def counting(path):
        seen.append(str(path))
        return read(path)

    for module in ("engine.runs.files", "engine.runs.reader", "engine.runs.meta", "engine.runs.liveness"):
        monkeypatch.setattr(f"{module}.read_json", counting)
    return seen


def copy_run(runs: Path, source: Path, name: str) -> Path:
    """A copy of a run under another id (hard links, as benchmarks/many_runs.py makes them)."""
    dest = runs / name
    shutil.copytree(source, dest, copy_function=os.link)
    return dest


def ids(entries) -> list[str]:
    return [e.info.run_id for e in entries]


def old(run: Path) -> None:
    """Make a run's files look written long ago (not 'just changed': RECENT_NS)."""
    for p in [run, *run.iterdir()]:
        os.utime(p, (1_700_000_000, 1_700_000_000))


# ------------------------------------------------------------------ change detection


def test_a_scan_sees_new_deleted_and_changed_runs(runs):
    index = RunIndex(runs)
    first = index.scan()
    assert len(first) == 6 and ids(first) == sorted(ids(first), reverse=True)
    assert index.scan() is first  # nothing changed: the same list, the same entries

    new = copy_run(runs, run_named(runs, "seed1"), "20991231-000000-mlp-scratch-new")
    after_new = index.scan()
    assert ids(after_new)[0] == new.name and len(after_new) == 7
    assert all(e in first for e in after_new[1:])  # the others were not read again

    shutil.rmtree(run_named(runs, "lowlr"))
    assert len(index.scan()) == 6

    victim = run_named(runs, "cnn")
    summary = json.loads((victim / "summary.json").read_text())
    (victim / "summary.json").write_text(json.dumps({**summary, "test_acc": 0.99}))  # in place: the folder's mtime stays
    changed = {e.info.run_id: e for e in index.scan()}
    assert changed[victim.name].info.summary["test_acc"] == 0.99


def test_an_idle_scan_of_finished_runs_reads_no_json_and_asks_no_writer(runs, json_reads, monkeypatch):
    index = RunIndex(runs)
    index.scan()
    assert json_reads  # the first scan reads the runs
    asked: list[object] = []
    monkeypatch.setattr(index_module, "writer_alive", lambda path: asked.append(path) or False)
    json_reads.clear()
    for _ in range(5):
        index.scan()
    index.scan(full=True)
    assert json_reads == [] and asked == []


def test_a_fresh_process_reads_the_index_not_the_runs(runs, small_index, json_reads):
    index = RunIndex(runs)
    entries = index.scan()
    assert index.save(force=True) and (runs / INDEX_FILE).read_text().startswith(HEADER)
    json_reads.clear()
    again = RunIndex(runs).scan()
    assert json_reads == []  # stats only
    assert [(e.info.run_id, e.status, e.info.config, e.info.summary, e.meta) for e in again] == \
        [(e.info.run_id, e.status, e.info.config, e.info.summary, e.meta) for e in entries]


def test_the_index_is_a_cache_a_changed_run_is_read_from_its_files(runs, small_index, json_reads):
    index = RunIndex(runs)
    index.scan()
    index.save(force=True)
    named = run_named(runs, "noval")
    set_name(named, "baseline")  # another process renames it after the index was written
    json_reads.clear()
    entries = {e.info.run_id: e for e in RunIndex(runs).scan()}
    assert entries[named.name].name == "baseline"
    assert {Path(p).parent.name for p in json_reads} == {named.name}  # that run alone was read


def test_a_corrupt_missing_or_foreign_index_reads_the_runs_and_is_replaced(runs, small_index):
    expected = [(e.info.run_id, e.status) for e in RunIndex(runs).scan()]
    for damage in (b"\x00\xff not an index", HEADER.encode() + b"\n{broken\tx\ty\n", b"cifar-tui runs index 0\n", b""):
        (runs / INDEX_FILE).write_bytes(damage)
        index = RunIndex(runs)
        assert [(e.info.run_id, e.status) for e in index.scan()] == expected
        assert index.save(force=True) and len(load(runs)) == 6
    (runs / INDEX_FILE).unlink()
    assert [(e.info.run_id, e.status) for e in RunIndex(runs).scan()] == expected


def test_a_record_changed_by_hand_is_not_used(runs, small_index, json_reads):
    index = RunIndex(runs)
    index.scan()
    index.save(force=True)
    lines = (runs / INDEX_FILE).read_text().splitlines()
    head, config, summary = lines[1].split("\t")
    lines[1] = "\t".join([head, config, summary.replace('"completed"', '"completed", "x": 1', 1)])
    (runs / INDEX_FILE).write_text("\n".join(lines) + "\n")
    assert len(load(runs)) == 5  # its CRC no longer matches: `runs --json` would print the text as it is
    json_reads.clear()
    assert len(RunIndex(runs).scan()) == 6 and len({Path(p).parent.name for p in json_reads}) == 1


def test_two_processes_saving_at_once_leave_a_whole_index(runs, small_index):
    code = ("import os, sys\nfrom engine.runs import index\nindex.SAVE_FROM_RUNS = 1\nwrote = 0\n"
            "for _ in range(30):\n"
            "    try:\n        os.unlink(os.path.join(sys.argv[1], '.index'))\n    except FileNotFoundError:\n        pass\n"
            # No save when the other writer's whole index landed between the unlink and the scan (nothing changed).
            "    i = index.RunIndex(sys.argv[1]); i.scan(); wrote += i.save(force=True)\n"
            "print(wrote)\n")
    writers = [subprocess.Popen([sys.executable, "-c", code, str(runs)], stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    seen = []
    while any(w.poll() is None for w in writers):
        seen.append(len(load(runs)))  # a reader meanwhile: no index, or a whole one, never half of one
    outs = [w.communicate() for w in writers]
    assert [w.returncode for w in writers] == [0, 0] and all(int(out) > 0 for out, _ in outs)  # both really wrote
    assert set(seen) <= {0, 6} and len(load(runs)) == 6
    assert not [p for p in os.listdir(runs) if p.endswith(store_files.TEMP_SUFFIX)]


def test_threads_scanning_and_saving_one_index(runs, small_index):
    index = RunIndex(runs)
    index.scan()  # first sight of each run (and its leftovers clean-up, which a meta edit in flight must not meet)
    targets = [run_named(runs, k) for k in ("seed1", "seed2", "seed3")]
    errors: list[BaseException] = []

    def work(run: Path) -> None:
        try:
            for i in range(15):
                set_tags(run, f"t{i}")  # a change each time: the next save writes
                index.scan(full=True)
                index.save(force=True)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(run,)) for run in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for run in targets:
        old(run)  # just changed runs are watched, not stored, until they settle
    index.scan(full=True)
    index.save(force=True)
    stored = load(runs)
    assert len(stored) == 6 and all(stored[run.name].meta.tags == ["t14"] for run in targets)


def test_no_index_for_a_few_runs_nor_where_it_cannot_be_written(runs, monkeypatch):
    index = RunIndex(runs)
    entries = index.scan()
    assert not index.save(force=True) and not (runs / INDEX_FILE).exists()  # 6 runs < SAVE_FROM_RUNS
    monkeypatch.setattr(index_module, "SAVE_FROM_RUNS", 1)
    (runs / INDEX_FILE).mkdir()  # in the way: the rename fails (a read-only directory, as root could not show)
    index = RunIndex(runs)
    assert [e.info.run_id for e in index.scan()] == [e.info.run_id for e in entries]
    assert not index.save(force=True)
    assert not [p for p in os.listdir(runs) if p.endswith(store_files.TEMP_SUFFIX)]


# ------------------------------------------------------------------ what each scan looks at


def test_finished_runs_are_looked_at_in_turn(runs, monkeypatch):
    monkeypatch.setattr(index_module, "FINISHED_PER_SCAN", 2)
    for run in runs.iterdir():
        old(run)
    index = RunIndex(runs)
    index.scan()
    target = run_named(runs, "seed3")
    set_tags(target, "late")
    old(target)  # as if tagged a while ago, from another terminal
    tags = []
    for _ in range(3):  # 6 runs, 2 a scan: each looked at within 3 scans
        tags.append({e.info.run_id: e.meta.tags for e in index.scan()}[target.name])
    assert tags[-1] == ["late"]
    set_tags(target, "later")
    old(target)
    assert {e.info.run_id: e.meta.tags for e in index.scan(full=True)}[target.name] == ["later"]


def test_a_running_runs_writer_is_asked_every_scan(runs):
    live = run_named(runs, "seed2")
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mark_running(live, writer.pid)
        old(live)
        index = RunIndex(runs)
        assert {e.info.run_id: e.status for e in index.scan()}[live.name] is RunStatus.RUNNING
    finally:
        writer.kill()
        writer.wait()
    # No file changed: the writer died. The next scan says so.
    assert {e.info.run_id: e.status for e in index.scan()}[live.name] is RunStatus.STALE


def test_a_resumed_run_comes_back_to_life(runs, monkeypatch):
    run = run_named(runs, "lowlr")
    old(run)
    index = RunIndex(runs)
    assert {e.info.run_id: e.status for e in index.scan()}[run.name] is RunStatus.COMPLETED
    mark_running(run, os.getpid())  # a resume: the lock and a 'running' summary
    assert {e.info.run_id: e.status for e in index.scan()}[run.name] is RunStatus.RUNNING
