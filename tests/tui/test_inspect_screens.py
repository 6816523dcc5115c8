"""The images behind the numbers, in the app: confusion drill-down, mistakes, confused pairs, sample
grid, predictions on outside images, feature space; on a real short run (Pilot)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from textual.widgets import OptionList

from engine.runs import predictions
from engine.config import RunConfig
from engine.data.load import load_config_dataset
from engine.training.loop import train
from tui.app import CifarApp
from tui.screens.compare import CompareScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.features import FeaturesScreen
from tui.screens.images import ImageDetail, ImagesScreen, MistakesScreen
from tui.screens.predict import PredictScreen
from tui.screens.samples import SamplesScreen
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.image_grid import ImageGrid
from tui.widgets.scatter import ScatterPlot

# Trains for real (two tiny runs): the fast tier skips it.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, list[Path]]:
    runs = tmp_path_factory.mktemp("inspect") / "runs"
    dirs = []
    for seed in (1, 2):
        config = RunConfig(dataset="synthetic", model="cnn", epochs=1, train_limit=300, test_limit=200,
                           batch_size=50, val_split=0, runs_dir=str(runs), seed=seed, name=f"s{seed}", mixup=0.4)
        result = train(config)
        assert result.status == "completed", result.error
        dirs.append(Path(result.run_dir))
    return runs, dirs


async def _until(pilot, check, tries: int = 200) -> None:
    for _ in range(tries):
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting for the screen")


def _grid_ready(app) -> bool:
    return isinstance(app.screen, (ImagesScreen, MistakesScreen, SamplesScreen, PredictScreen)) and \
        bool(app.screen.query_one(ImageGrid).items)


async def _saved_dashboard(pilot) -> None:
    await _until(pilot, lambda: bool(pilot.app.screen.query_one(ConfusionMatrix).matrix))


async def test_two_keys_open_the_most_confused_cell_with_exactly_its_images(trained) -> None:
    runs, (run, _) = trained
    preds = predictions.load(predictions.path_of(run))
    true, pred, count = preds.confused_pairs()[0]
    config = RunConfig.from_dict(__import__("json").loads((run / "config.json").read_text()))
    test = load_config_dataset(config.replace(download=False)).test
    app = CifarApp(runs_dir=str(runs), start_screen=DashboardScreen.for_saved_run(run))
    async with app.run_test(size=(80, 24)) as pilot:
        await _saved_dashboard(pilot)
        await pilot.press("4", "enter")  # the matrix tab, then the cell under the cursor
        await _until(pilot, lambda: _grid_ready(app))
        items = app.screen.query_one(ImageGrid).items
        assert len(items) == count
        rows = [item.key for item in items]
        assert rows == list(preds.cell(true, pred))
        for item in items:
            assert np.array_equal(item.image, np.asarray(test.x)[item.key])
            assert int(test.y[item.key]) == true and int(preds.pred[item.key]) == pred
        conf = [float(preds.confidence[r]) for r in rows]
        assert conf == sorted(conf, reverse=True)  # an error cell: most confident first
        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, ImageDetail))
        assert len(app.screen.top) == 5 and app.screen.top[0][1] == pytest.approx(conf[0], abs=1e-3)
        await pilot.press("escape", "escape")
        await _until(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_a_click_picks_a_cell_and_the_diagonal_is_least_confident_first(trained) -> None:
    runs, (run, _) = trained
    preds = predictions.load(predictions.path_of(run))
    app = CifarApp(runs_dir=str(runs), start_screen=DashboardScreen.for_saved_run(run))
    async with app.run_test(size=(160, 48)) as pilot:
        await _saved_dashboard(pilot)
        matrix = app.screen.query_one(ConfusionMatrix)
        diagonal = next(i for i in range(10) if preds.confusion(10)[i][i] > 1)
        x, y = next((x, y) for y in range(matrix.size.height) for x in range(matrix.size.width)
                    if matrix.cell_at(x, y) == (diagonal, diagonal))
        await pilot.click(ConfusionMatrix, offset=(x, y))
        await pilot.click(ConfusionMatrix, offset=(x, y))  # a click on the cursor's cell opens it
        await _until(pilot, lambda: _grid_ready(app))
        rows = [item.key for item in app.screen.query_one(ImageGrid).items]
        assert rows == list(preds.cell(diagonal, diagonal))
        conf = [float(preds.confidence[r]) for r in rows]
        assert conf == sorted(conf)


async def test_mistakes_and_pairs(trained) -> None:
    runs, (run, _) = trained
    preds = predictions.load(predictions.path_of(run))
    app = CifarApp(runs_dir=str(runs), start_screen=DashboardScreen.for_saved_run(run))
    async with app.run_test(size=(80, 24)) as pilot:
        await _saved_dashboard(pilot)
        await pilot.press("e")
        await _until(pilot, lambda: _grid_ready(app))
        rows = [item.key for item in app.screen.query_one(ImageGrid).items]
        assert rows == list(preds.mistakes()[: len(rows)])
        assert all(preds.pred[r] != preds.labels[r] for r in rows)
        await pilot.press("2")
        await pilot.pause()
        assert app.screen.query_one(OptionList).option_count == len(preds.confused_pairs())
        await pilot.press("enter")  # the most confused pair
        await _until(pilot, lambda: isinstance(app.screen, ImagesScreen) and _grid_ready(app))
        true, pred, count = preds.confused_pairs()[0]
        assert len(app.screen.query_one(ImageGrid).items) == count


async def test_sample_grid_shows_what_the_model_sees(trained) -> None:
    runs, (run, _) = trained
    app = CifarApp(runs_dir=str(runs), start_screen=DashboardScreen.for_saved_run(run))
    async with app.run_test(size=(160, 48)) as pilot:
        await _saved_dashboard(pilot)
        await pilot.press("g")
        await _until(pilot, lambda: _grid_ready(app))
        plain = [item.image.copy() for item in app.screen.query_one(ImageGrid).items]
        assert len(plain) == 60  # 6 per class, 10 classes
        await pilot.press("a")
        await _until(pilot, lambda: "augmentation" in str(app.screen.query_one("#images-title").render()))
        def mixed() -> bool:  # MixUp: "0.62 cat + 0.38 dog" (one lambda a batch, often near 0 or 1: redraw)
            return any("+" in line for item in app.screen.query_one(ImageGrid).items for line, _ in item.caption)
        for _ in range(8):
            await pilot.pause(0.5)
            if mixed():
                break
            await pilot.press("space")
        await _until(pilot, mixed)
        augmented = [item.image for item in app.screen.query_one(ImageGrid).items]
        assert any(not np.array_equal(a, b) for a, b in zip(plain, augmented))


async def test_predict_prompt_on_outside_images(trained, tmp_path) -> None:
    runs, (run, _) = trained
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (200, 120), (200, 30, 30)).save(folder / "red.png")
    Image.new("L", (64, 64), 128).save(folder / "grey.jpg")
    (folder / "notes.png").write_text("not an image")
    app = CifarApp(runs_dir=str(runs), start_screen=DashboardScreen.for_saved_run(run))
    async with app.run_test(size=(80, 24)) as pilot:
        await _saved_dashboard(pilot)
        await pilot.press("o")
        await _until(pilot, lambda: isinstance(app.screen, PredictScreen))
        await pilot.click("#predict-path")
        await pilot.press(*str(folder), "enter")
        await _until(pilot, lambda: _grid_ready(app))
        items = app.screen.query_one(ImageGrid).items
        assert sorted(line for item in items for line, _ in item.caption[:1]) == ["grey.jpg", "red.png"]
        title = str(app.screen.query_one("#images-title").render())
        assert "notes.png" in title and "2 images classified" in title
        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, ImageDetail))
        probs = [p for _, p in app.screen.top]
        assert len(probs) == 5 and probs == sorted(probs, reverse=True)


async def test_feature_space_is_computed_once_then_stored_and_compared(trained) -> None:
    runs, (a, b) = trained
    app = CifarApp(runs_dir=str(runs), start_screen=DashboardScreen.for_saved_run(a))
    async with app.run_test(size=(80, 24)) as pilot:
        await _saved_dashboard(pilot)
        await pilot.press("f")
        await _until(pilot, lambda: isinstance(app.screen, FeaturesScreen)
                     and len(app.screen.query_one(ScatterPlot).points) > 0, tries=600)
        assert (a / "analysis" / "pca.npz").exists()
    app = CifarApp(runs_dir=str(runs), start_screen=CompareScreen([str(a), str(b)]))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("f")
        await _until(pilot, lambda: isinstance(app.screen, FeaturesScreen)
                     and all(len(p.points) > 0 for p in app.screen.query(ScatterPlot)), tries=600)
        plots = list(app.screen.query(ScatterPlot))
        assert len(plots) == 2 and all(p.display for p in app.screen.query(".feature-panel"))
        assert (b / "analysis" / "pca.npz").exists()


async def test_a_probe_started_from_the_runs_page_shows_beside_its_accuracy(trained) -> None:
    from engine.analysis.compare import load_compare_runs, metric_rows
    from tui.widgets.header import header_text

    runs, (run, other) = trained
    app = CifarApp(runs_dir=str(runs), start_screen=DashboardScreen.for_saved_run(run))
    async with app.run_test(size=(160, 48)) as pilot:
        await _saved_dashboard(pilot)
        first = app.screen
        await pilot.press("l")  # a linear probe on this run's frozen features, trained here
        await _until(pilot, lambda: app.screen is not first)
        probe_screen = app.screen
        await _until(pilot, lambda: not probe_screen.state.phase.live, tries=1200)
        assert probe_screen.state.phase == "completed"
        assert probe_screen.config.strategy == "linear-probe" and probe_screen.config.from_run == run.name
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen is first and first.state.probe_acc is not None)
        probe_acc = probe_screen.state.epoch_series["test_acc"][-1]
        assert first.state.probe_acc == pytest.approx(probe_acc)
        assert f"probe {100 * probe_acc:.2f}%" in header_text(first.state, 160).columns[0]._cells[1].plain
    rows = {row.spec.key: row for row in metric_rows(load_compare_runs([run, other]))}
    assert rows["probe_acc"].last == [pytest.approx(probe_acc), None]
