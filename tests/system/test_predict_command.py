"""`cifar-tui predict RUN IMAGE...` on real image files (PNG, JPEG, grey, RGBA, palette, a fake) and a real run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.helpers.cli_process import cli
from PIL import Image

from engine.analysis.analyze import predict_images
from engine.analysis.images import load_image
from engine.config import RunConfig, UserError
from engine.training.loop import train

# Trains for real: the fast tier (-m 'not slow') skips it.
pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("predict") / "runs"
    result = train(RunConfig(dataset="synthetic", model="cnn", epochs=1, train_limit=200, test_limit=100,
                             batch_size=50, runs_dir=str(runs), seed=3))
    assert result.status == "completed", result.error
    return runs, Path(result.run_dir)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    out = {
        "small.png": Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)),
        "wide.jpg": Image.fromarray(rng.integers(0, 255, (60, 100, 3), dtype=np.uint8)),
        "grey.png": Image.fromarray(rng.integers(0, 255, (40, 17), dtype=np.uint8), mode="L"),
        "alpha.png": Image.fromarray(rng.integers(0, 255, (64, 64, 4), dtype=np.uint8), mode="RGBA"),
        "palette.png": Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).convert("P"),
    }
    paths = {}
    for name, img in out.items():
        img.save(folder / name)
        paths[name] = folder / name
    (folder / "bad.png").write_text("this is not a picture\n")
    paths["bad.png"] = folder / "bad.png"
    (folder / "notes.txt").write_text("skipped: not an image suffix\n")
    return paths


GOOD = ("small.png", "wide.jpg", "grey.png", "alpha.png", "palette.png")


def test_predict_prints_top5_per_image_and_one_line_per_bad_file(run, images) -> None:
    runs, run_dir = run
    out = cli("predict", run_dir.name, *(images[n] for n in (*GOOD[:2], "bad.png", *GOOD[2:])), "--runs-dir", runs)
    assert out.returncode == 0, out.stderr
    err = out.stderr.strip().splitlines()
    assert err == [f"cifar-tui: cannot read {images['bad.png']}: not an image (text)"]
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"run {run_dir.name}, best.pt (epoch 1)")
    blocks = "\n".join(lines[1:]).split("\n/")
    assert len(blocks) == len(GOOD)
    for block, name in zip(blocks, GOOD):
        head, *rows = block.splitlines()
        assert head.endswith(name)
        assert len(rows) == 5
        probs = [float(r.split()[-1].rstrip("%")) for r in rows]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 100.01
        assert all(r.startswith("  ") and r.split()[0] for r in rows)


def test_predict_json_and_folders(run, images) -> None:
    runs, run_dir = run
    folder = images["bad.png"].parent
    out = cli("predict", "latest", folder, "--runs-dir", runs, "--json", "--top", "3")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["run_id"] == run_dir.name and data["checkpoint"] == "best.pt" and data["epoch"] == 1
    names = [Path(i["path"]).name for i in data["images"]]
    assert names == sorted([*GOOD, "bad.png"])  # the folder's image files, sorted; notes.txt skipped
    for item in data["images"]:
        if Path(item["path"]).name == "bad.png":
            assert item["top"] == [] and "not an image" in item["error"]
            continue
        probs = [t["prob"] for t in item["top"]]
        assert item["error"] is None and len(probs) == 3
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert out.stderr.count("\n") == 1 and "bad.png" in out.stderr


def test_predict_with_nothing_readable_exits_1_and_bad_input_exits_2(run, images, tmp_path) -> None:
    runs, run_dir = run
    none = cli("predict", run_dir.name, images["bad.png"], tmp_path / "missing.jpg", "--runs-dir", runs)
    assert none.returncode == 1 and none.stdout == ""
    assert none.stderr.splitlines() == [f"cifar-tui: cannot read {images['bad.png']}: not an image (text)",
                                        f"cifar-tui: cannot read {tmp_path / 'missing.jpg'}: no such file"]
    missing = cli("predict", "no-such-run", images["small.png"], "--runs-dir", runs)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.count("\n") == 1 and "no run matches 'no-such-run'" in missing.stderr
    top0 = cli("predict", run_dir.name, images["small.png"], "--top", "0", "--runs-dir", runs)
    assert top0.returncode == 2 and top0.stderr.count("\n") == 1 and "--top" in top0.stderr


def test_predict_images_gives_what_the_model_sees(run, images) -> None:
    _, run_dir = run
    results = predict_images(run_dir, [str(images[n]) for n in (*GOOD, "bad.png")])
    assert [Path(r.path).name for r in results] == [*GOOD, "bad.png"]
    for r in results[:-1]:
        assert r.error is None and r.image is not None
        assert r.image.shape == (32, 32, 3) and r.image.dtype == np.uint8
        assert len(r.top) == 5 and {c for c, _ in r.top} <= set(f"{c}-{o}" for o in ("horizontal", "diagonal")
                                                                 for c in ("red", "green", "blue", "orange", "purple"))
    small = results[0].image
    assert small is not None and np.array_equal(small, np.asarray(Image.open(images["small.png"])))  # 32 px: as is
    grey = results[2].image
    assert grey is not None and (grey[..., 0] == grey[..., 1]).all()  # grey stays grey in RGB
    assert results[-1].image is None and results[-1].top == []


def test_load_image_crops_the_centre_and_converts_channels(tmp_path) -> None:
    left = np.zeros((40, 120, 3), np.uint8)
    left[:, 40:80] = (255, 0, 0)  # the centre square is red, the sides black
    Image.fromarray(left).save(tmp_path / "wide.png")
    square = load_image(str(tmp_path / "wide.png"), 28, 1)
    assert square.shape == (28, 28, 1)
    assert abs(int(square[..., 0].mean()) - 76) <= 2  # red in grey (ITU-R 601: 0.299 * 255): no black kept
    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent: laid over white
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "clear.png")
    assert (load_image(str(tmp_path / "clear.png"), 8, 3) == 255).all()
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(UserError, match=r"not an image \(empty file\)"):
        load_image(str(tmp_path / "empty.jpg"), 8, 3)
    Image.fromarray(left).save(tmp_path / "cut.jpg")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "cut.jpg").read_bytes()[:200])
    with pytest.raises(UserError, match=r"cannot read .*cut.jpg: not an image \(damaged"):
        load_image(str(tmp_path / "cut.jpg"), 8, 3)
