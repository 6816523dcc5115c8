"""The benchmark suite's plumbing: gpu.sh refuses without a GPU, python -m benchmarks prints one table."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from benchmarks.__main__ import run_one, table
from benchmarks.gpu import peak_tflops
from tests.helpers import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: gpu.sh would run")
def test_gpu_sh_refuses_without_a_gpu_in_one_line():
    out = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh")], capture_output=True, text=True, env=ENV)
    assert out.returncode == 2
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert len(lines) == 1 and "no CUDA GPU" in lines[0]


def test_gpu_peak_table_reads_real_device_names(monkeypatch):
    monkeypatch.delenv("GPU_PEAK_TFLOPS", raising=False)
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.0  # the SXM part's name
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert peak_tflops("Some Future GPU") is None
    monkeypatch.setenv("GPU_PEAK_TFLOPS", "400")
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 400.0


def test_table_shows_rows_and_why_scripts_gave_none(tmp_path):
    rows = [dict(benchmark="throughput", target="cnn 32 px engine/reference", measured=1.62, goal=1.5, unit="x",
                 higher_is_better=True, met=True, note=""),
            dict(benchmark="rss", target="peak RSS", measured=812.0, goal=0.0, unit="MB", higher_is_better=False,
                 met=True, note="reported (no goal)")]
    rows_missing, why = run_one("no_such_benchmark", quick=True, tmp=tmp_path)
    assert rows_missing == [] and why == "not in this checkout"
    text = table(rows, {"no_such_benchmark": why}).splitlines()
    assert "cnn 32 px engine/reference" in text[2] and "1.62" in text[2] and "yes" in text[2]
    assert text[3].split()[-1] == "-"  # a reported figure has no goal and no verdict
    assert "not in this checkout" in text[4]


@pytest.mark.slow
def test_python_m_benchmarks_quick_throughput_prints_one_table(tmp_path):
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "throughput",
                          "--json", str(tmp_path / "rows.json")],
                         cwd=ROOT, capture_output=True, text=True, env=ENV, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert [r["target"] for r in rows] == ["cnn 32 px engine/reference"]
    assert rows[0]["measured"] > 0 and set(rows[0]) == {"benchmark", "target", "measured", "goal", "unit",
                                                         "higher_is_better", "met", "note"}
    tail = out.stdout[out.stdout.rindex("benchmark"):]
    assert "cnn 32 px engine/reference" in tail and "not meaningful" in tail
    assert "engine cnn:" in out.stdout and "forward" in out.stdout  # the step profile


@pytest.mark.slow
def test_startup_quick_writes_its_targets(tmp_path):
    out = subprocess.run([sys.executable, "benchmarks/startup.py", "--quick", "--json", str(tmp_path / "s.json")],
                         cwd=ROOT, capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = json.loads((tmp_path / "s.json").read_text())
    assert {r["target"] for r in rows} >= {"--help wall", "first frame wall"}
    assert all(r["goal"] == 0.5 and r["unit"] == "s" for r in rows)


@pytest.mark.slow
def test_many_runs_quick_measures_each_count_and_ends_its_app(tmp_path):
    out = subprocess.run([sys.executable, "benchmarks/many_runs.py", "--quick", "--json", str(tmp_path / "m.json")],
                         cwd=ROOT, capture_output=True, text=True, env=ENV, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    rows = json.loads((tmp_path / "m.json").read_text())
    assert [r["target"] for r in rows] == ["runs screen opens, 20 runs", "idle on the runs screen, 20 runs",
                                           "runs --json, 20 runs", "app peak RSS on the runs screen, 20 runs"]
    assert rows[0]["measured"] > 0 and rows[2]["measured"] > 0 and rows[3]["measured"] > 0
    assert rows[1]["measured"] >= 0  # CPU time comes in clock ticks: an app idle for 3 s may show none
    table = out.stdout[out.stdout.rindex("runs  json first"):].splitlines()
    assert [line.split()[0] for line in table[2:4]] == ["1", "20"]  # side by side, the 1-run figures first
    assert "many-runs-" not in subprocess.run(["pgrep", "-af", "python -m tui"], capture_output=True,
                                              text=True).stdout  # every app it started has ended


def test_compile_pays_only_when_a_first_run_earns_its_compile_back(capsys):
    """benchmarks/compile_cpu.py's verdict: the steady saving over the preset's epochs against the cold compile."""
    from benchmarks.compile_cpu import report

    def side(wall: float, last: float) -> dict[str, float]:
        return dict(wall=wall, first=last, last=last, rate=1000.0, epochs=2)

    # 1 s/epoch faster; compiling costs 30 s on a machine's first run, nothing once cached.
    sides = {"eager": side(20.0, 10.0), "compiled, cold": side(49.0, 9.0), "compiled, warm": side(19.0, 9.0)}
    short = report("fast", {k: dict(v) for k, v in sides.items()}, preset_epochs=2)
    long = report("cnn", {k: dict(v) for k, v in sides.items()}, preset_epochs=100)
    assert short["met"] is False and long["met"] is True
    assert short["measured"] == pytest.approx(10 / 9, abs=1e-3)
    assert "30.0 s cold" in short["note"] and "0.0 s warm" in short["note"]
    assert set(short) == {"benchmark", "target", "measured", "goal", "unit", "higher_is_better", "met", "note"}
    assert "pays: no" in capsys.readouterr().out


def test_gpu_sh_times_fast_gpu_with_the_preset_itself(tmp_path):
    """gpu.sh's design-target part on the CPU: the real fast-gpu preset trains, and its row judges 94% in 3 s."""
    from benchmarks.gpu import data_settings, fast_gpu_row, fast_gpu_run

    assert data_settings(tmp_path / "cifar10-jpg.tar.gz") == (
        dict(dataset="folder", data_dir=str(tmp_path / "cifar10-jpg.tar.gz")), "CIFAR-10 (JPEG q75)")
    assert data_settings(tmp_path)[0]["dataset"] == "cifar10"
    timed = fast_gpu_run(dict(dataset="synthetic"), str(tmp_path), device="cpu", train_limit=256, test_limit=64,
                         epochs=1, batch_size=64, compile=False, amp=False)
    assert 0.0 <= timed["acc"] <= 1.0 and 0 < timed["train_s"] <= timed["wall_s"]
    assert fast_gpu_row(dict(acc=0.9401, train_s=2.9, wall_s=9.0), "CIFAR-10", "H100")["met"] is True
    assert fast_gpu_row(dict(acc=0.9399, train_s=2.9, wall_s=9.0), "CIFAR-10", "H100")["met"] is False
    assert fast_gpu_row(dict(acc=0.95, train_s=3.1, wall_s=9.0), "CIFAR-10", "H100")["met"] is False
