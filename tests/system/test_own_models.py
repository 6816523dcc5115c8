"""--model beyond the registry: a torchvision name, timm/NAME, FILE.py:Name and package.module:Name, each
trained for real; strategies, resume, predict and the changed-file refusal on a run of your own model;
every bad input as one line before anything is written; the README's Python API example."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.helpers.cli_process import cli, one_line_error

pytestmark = pytest.mark.slow
TINY = ["--no-ui", "--dataset", "synthetic", "--epochs", "1", "--train-limit", "300", "--test-limit", "100",
        "--batch-size", "50"]
MODEL_FILE = '''
import torch.nn as nn


class MyNet(nn.Module):
    def __init__(self, num_classes, in_channels=3):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


def make(num_classes):
    return MyNet(num_classes)


def broken(num_classes):
    raise ValueError("no net today")


def not_a_module(num_classes):
    return "a string"


def three_classes(num_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 3))


class FailsForward(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.fc = nn.Linear(7, num_classes)

    def forward(self, x):
        return self.fc(x)
'''


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "mynets.py"
    path.write_text(MODEL_FILE)
    return path


def runs_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.exists() else []


def trained(out: subprocess.CompletedProcess) -> Path:
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    return Path(re.search(r"saved in (\S+)", out.stdout).group(1))  # type: ignore[union-attr]


@pytest.mark.parametrize("model", ["squeezenet1_1", "mobilenet_v3_small"])
def test_a_torchvision_model_by_name(tmp_path: Path, model: str) -> None:
    run = trained(cli(*TINY, "--model", model, "--image-size", "64", "--runs-dir", tmp_path / "runs"))
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == model and json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_a_timm_model(tmp_path: Path) -> None:
    pytest.importorskip("timm", reason="timm is an optional extra")
    run = trained(cli(*TINY, "--model", "timm/resnet18", "--image-size", "32", "--runs-dir", tmp_path / "runs"))
    assert "timm-resnet18" in run.name


def test_your_file_and_your_package(tmp_path: Path, model_file: Path) -> None:
    runs = tmp_path / "runs"
    run = trained(cli(*TINY, "--model", f"{model_file}:MyNet", "--runs-dir", runs))
    source = json.loads((run / "config.json").read_text())["model_source"]
    assert source["path"] == str(model_file) and len(source["sha256"]) == 64
    trained(cli(*TINY, "--model", "mynets:make", "--runs-dir", runs, env={"PYTHONPATH": str(tmp_path)}))


def test_strategies_resume_and_predict_on_your_model(tmp_path: Path, model_file: Path) -> None:
    runs = tmp_path / "runs"
    first = trained(cli(*TINY, "--model", f"{model_file}:MyNet", "--runs-dir", runs))
    weights = first / "checkpoints" / "best.pt"
    fe = trained(cli(*TINY, "--model", f"{model_file}:MyNet", "--strategy", "feature-extract", "--weights", weights,
                     "--runs-dir", runs))
    summary = json.loads((fe / "summary.json").read_text())
    assert summary["params_trainable"] == 8 * 10 + 10  # only the classifier (the last Linear) trains
    trained(cli(*TINY, "--model", f"{model_file}:MyNet", "--strategy", "linear-probe", "--from", first.name,
                "--runs-dir", runs))
    resumed = cli("--no-ui", "--resume", first.name, "--epochs", "2", "--runs-dir", runs)
    assert resumed.returncode == 0, resumed.stderr
    image = tmp_path / "img.png"
    from PIL import Image

    Image.new("RGB", (32, 32), (200, 30, 30)).save(image)
    out = cli("predict", first.name, image, "--runs-dir", runs)
    assert out.returncode == 0, out.stderr


def test_a_changed_model_file_is_refused_then_forced(tmp_path: Path, model_file: Path) -> None:
    runs = tmp_path / "runs"
    run = trained(cli(*TINY, "--model", f"{model_file}:MyNet", "--runs-dir", runs))
    model_file.write_text(MODEL_FILE + "\n# edited\n")
    one_line_error(cli("--no-ui", "--resume", run.name, "--epochs", "2", "--runs-dir", runs), "changed since", "--force")
    one_line_error(cli("analyze", run.name, "--no-ui", "--runs-dir", runs), "changed since")
    assert cli("--no-ui", "--resume", run.name, "--epochs", "2", "--force", "--runs-dir", runs).returncode == 0
    config = json.loads((run / "config.json").read_text())
    assert "model_file" in config["resumes"][-1]["changed"]


@pytest.mark.parametrize("name, fragments", [
    ("{file}:broken", ["mynets.py:21: ValueError: no net today"]),
    ("{file}:Nope", ["has no 'Nope'"]),
    ("{file}:not_a_module", ["returned a str, not an nn.Module"]),
    ("{file}:three_classes", ["returns (2, 3)", "(batch, 10)"]),
    ("{file}:FailsForward", ["mynets.py:", "RuntimeError"]),
    ("{dir}/nofile.py:X", ["does not exist"]),
    ("{dir}/syntax.py:X", ["syntax.py:1: SyntaxError"]),
    ("no_such_package.models:X", ["no module named"]),
    ("nope", ["unknown model 'nope'", "torchvision"]),
])
def test_bad_models_are_one_line_before_any_run(tmp_path: Path, model_file: Path, name: str,
                                                  fragments: list[str]) -> None:
    (tmp_path / "syntax.py").write_text("def oops(:\n")
    runs = tmp_path / "runs"
    one_line_error(cli(*TINY, "--model", name.format(file=model_file, dir=tmp_path), "--runs-dir", runs), *fragments)
    assert runs_in(runs) == []


def test_a_run_trains_again_from_its_config_json_and_from_toml(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = trained(cli(*TINY, "--model", "cnn", "--runs-dir", runs))
    again = trained(cli("--no-ui", "--config", first / "config.json", "--runs-dir", runs))
    metrics = [(p / "metrics.jsonl").read_text().splitlines() for p in (first, again)]
    keys = ("train_loss", "val_acc", "test_acc", "test_loss")
    assert [{k: json.loads(m)[k] for k in keys} for m in metrics[0]] == \
           [{k: json.loads(m)[k] for k in keys} for m in metrics[1]]  # the same numbers on the CPU
    toml = cli("config", first.name, "--runs-dir", runs).stdout
    (tmp_path / "exp.toml").write_text(toml.replace('model = "cnn"', 'model = "mlp"'))
    third = trained(cli("--no-ui", "--config", tmp_path / "exp.toml", "--seed", "3", "--runs-dir", runs))
    config = json.loads((third / "config.json").read_text())
    assert (config["model"], config["seed"], config["train_limit"]) == ("mlp", 3, 300)
    (tmp_path / "exp.json").write_text(json.dumps({"model": "mlp", "epochs": 1, "train_limit": 300,
                                                   "test_limit": 100, "dataset": "synthetic"}))
    trained(cli("--no-ui", "--config", tmp_path / "exp.json", "--runs-dir", runs))


@pytest.mark.parametrize("content, fragments", [("lrr = 0.1\n", ["no setting named 'lrr'", "did you mean 'lr'"]),
                                                ('lr = "fast"\n', ["lr must be a number"]),
                                                ("lr = [\n", ["not valid TOML"])])
def test_bad_config_files_are_one_line(tmp_path: Path, content: str, fragments: list[str]) -> None:
    (tmp_path / "bad.toml").write_text(content)
    one_line_error(cli("--no-ui", "--config", tmp_path / "bad.toml", "--runs-dir", tmp_path / "runs"), *fragments)


def test_the_readme_python_api_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    code = readme.split("## Python API")[1].split("```python")[1].split("```")[0]
    script = tmp_path / "example.py"
    script.write_text(textwrap.dedent(code))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("completed ")
    listed = cli("runs", "--runs-dir", tmp_path / "saved_runs")
    assert "__main__:TinyNet" in listed.stdout


def test_ctrl_c_in_a_script_saves_the_run_as_interrupted(tmp_path: Path) -> None:
    import signal
    import time

    script = tmp_path / "long.py"
    script.write_text(textwrap.dedent('''
        from engine import RunConfig, train
        from engine.events import StepDone
        import os, sys
        def on_event(event):
            if isinstance(event, StepDone):
                print("step", flush=True)
        r = train(RunConfig(dataset="synthetic", model="cnn", epochs=50, train_limit=2000, batch_size=32), on_event)
        print(r.status, flush=True)
    '''))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    while proc.stdout.readline().strip() != "step":
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip().endswith("interrupted"), out[-500:]
    (run,) = runs_in(tmp_path / "saved_runs")
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"


def test_models_lists_the_other_forms_and_torchvision_names() -> None:
    out = cli("models")
    assert "FILE.py:Name" in out.stdout and "timm/NAME" in out.stdout
    names = cli("models", "--torchvision").stdout.split()
    assert {"efficientnet_b0", "resnet18", "convnext_tiny"} <= set(names)
