"""Images at full resolution where the terminal can (tui/terminal_images.py, tui/widgets/full_image.py).

How the terminal is found out (textual-image's own queries, answered by a terminal the test plays on a pty),
the half blocks that stay without textual-image, under NO_COLOR and on terminals without graphics, and, with
kitty or sixel chosen, textual-image's widget in the drill-down and mistakes views with the image's pixels.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

from engine.config import UserError
from engine.runs import predictions
from tests.helpers.fake_terminal import DA1, CELL_QUERY, Answers, ask_on_fake_terminal, run_on_fake_terminal
from tests.helpers.tui_fixtures import drill_run
from tests.helpers.waiting import pilot_wait_until
from tui.app import CifarApp
from tui.screens.image_base import ImageDetail
from tui.screens.images import MistakesScreen, cell_screen
from tui.terminal_images import HALFBLOCK, KITTY, SIXEL, ImageProbe, requested
from tui.widgets.full_image import FullImage, graphics_box, picture
from tui.widgets.image_grid import ImageGrid

# What the app does before it starts, then: what it found, textual-image's cell size, whether it imported textual-image.
PROBE = ("import os, sys\nfrom tui.terminal_images import ImageProbe\nfound = ImageProbe(os.environ).result()\n"
         "imported = 'textual_image' in sys.modules\n"
         "cell = sys.modules['textual_image._terminal'].get_cell_size() if imported else ()\n"
         "print('FOUND', found, *cell, 'imported' if imported else 'not imported')\n")


def needs_textual_image():
    return pytest.importorskip("textual_image", reason="the images extra (textual-image) is not installed")


# ----------------------------------------------------------------------------- finding out the terminal

@pytest.mark.parametrize("answers, found", [
    (Answers(da1=b"\x1b[?62;4;22c", cell=(9, 18)), "sixel 9 18 imported"),  # foot, WezTerm, xterm -ti vt340
    (Answers(kitty=True, cell=(10, 21), cell_in_winsize=False), "kitty 10 21 imported"),  # cell size asked: CSI 16 t
    (Answers(), "halfblock not imported"),  # neither (GNOME Terminal, tmux without sixel)
    (Answers(da1=None), "halfblock not imported"),  # a terminal that answers nothing: no hang, half blocks
], ids=["sixel", "kitty", "neither", "silent"])
def test_the_probe_asks_the_terminal_and_prints_nothing_else(answers, found) -> None:
    needs_textual_image()
    out, queries, seconds = run_on_fake_terminal(PROBE, answers)
    assert out.strip() == f"FOUND {found}"  # no log line, no answer echoed on the screen
    assert queries[:2] == [b"kitty", DA1]  # ours: one write, read until the DA1 answer
    if found.startswith("halfblock"):
        assert len(queries) == 2  # no textual-image import, so none of its own queries
    else:
        assert (CELL_QUERY in queries) == found.startswith("kitty")  # sixel's cell size came from TIOCGWINSZ
    assert seconds < 20  # at most ANSWER_S of waiting; the rest is starting Python


def test_nothing_is_asked_under_no_color_or_when_forced_to_half_blocks() -> None:
    needs_textual_image()
    for env in ({"NO_COLOR": "1"}, {"CIFAR_TUI_IMAGES": "halfblock"}):
        out, queries, _ = run_on_fake_terminal(PROBE, Answers(da1=b"\x1b[?62;4;22c", cell=(9, 18)), env=env)
        assert out.strip() == "FOUND halfblock not imported" and queries == []


def test_a_forced_protocol_is_used_whatever_the_terminal_answers() -> None:
    needs_textual_image()
    out, queries, _ = run_on_fake_terminal(PROBE, Answers(cell=(8, 16)), env={"CIFAR_TUI_IMAGES": "kitty"})
    assert out.strip() == "FOUND kitty 8 16 imported"
    assert queries[0] == DA1  # textual-image's own detection at import; ours was skipped


def test_without_textual_image_nothing_is_asked_and_forcing_it_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "textual_image", None)  # what a missing package looks like to an import
    probe = ImageProbe({})
    assert not probe.asks and probe.result() == HALFBLOCK
    with pytest.raises(UserError, match=r"CIFAR_TUI_IMAGES=sixel needs textual-image: pip install 'cifar-tui\[images\]'"):
        ImageProbe({"CIFAR_TUI_IMAGES": "sixel"})


def test_asking_in_process_reads_the_same_answers() -> None:
    assert ask_on_fake_terminal(Answers(da1=b"\x1b[?1;2;4c")) == SIXEL  # tmux 3.4+ built with sixel answers so
    assert ask_on_fake_terminal(Answers(kitty=True)) == KITTY
    assert ask_on_fake_terminal(Answers(da1=b"\x1b[?64;4;22c", kitty=True)) == SIXEL  # both: sixel, as textual-image
    assert ask_on_fake_terminal(Answers()) == HALFBLOCK
    assert ask_on_fake_terminal(Answers(da1=None), timeout=0.2) == HALFBLOCK


def test_a_bad_choice_is_one_line() -> None:
    assert requested({}) == "auto" and requested({"CIFAR_TUI_IMAGES": " Kitty "}) == KITTY
    with pytest.raises(UserError, match="CIFAR_TUI_IMAGES='iterm' is not a choice: use auto, halfblock, kitty, sixel"):
        requested({"CIFAR_TUI_IMAGES": "iterm"})


# ----------------------------------------------------------------------------- the picture

def test_the_box_fills_what_fits_in_whole_cells_with_the_aspect_kept() -> None:
    assert graphics_box(32, 32, 72, 10, (10, 20)) == (20, 10)  # 80x24's detail: 200 x 200 pixels
    assert graphics_box(32, 32, 152, 34, (9, 18)) == (68, 34)
    assert graphics_box(28, 56, 40, 40, (10, 20)) == (40, 10)  # wide: the width decides
    assert graphics_box(32, 32, 0, 10, (10, 20)) == (0, 0)


def test_the_picture_is_the_source_pixels_enlarged_nearest_and_grey_becomes_rgb() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    pic = picture(image, 20, 10, (10, 20))
    assert pic.size == (200, 200) and pic.mode == "RGB"
    assert _sampled(np.asarray(pic), 32, 32).tolist() == image.tolist()
    assert len(np.unique(np.asarray(pic)[:6, :6].reshape(-1, 3), axis=0)) == 1  # one source pixel, one colour
    grey = rng.integers(0, 256, (28, 28, 1), dtype=np.uint8)
    assert _sampled(np.asarray(picture(grey, 14, 7, (10, 20))), 28, 28).tolist() == np.repeat(grey, 3, 2).tolist()


def _sampled(pixels: np.ndarray, h: int, w: int) -> np.ndarray:
    """The picture read back at the centre of each source pixel."""
    rows = ((np.arange(h) + 0.5) * pixels.shape[0] / h).astype(int)
    cols = ((np.arange(w) + 0.5) * pixels.shape[1] / w).astype(int)
    return pixels[rows][:, cols]


# ----------------------------------------------------------------------------- the views

async def _detail(app, pilot) -> FullImage:
    """Enter on the first image of the screen's grid: its detail's FullImage, drawn."""
    await pilot_wait_until(pilot, lambda: bool(app.screen.query(ImageGrid)) and bool(app.screen.query_one(ImageGrid).items),
                           timeout=30)
    await pilot.press("enter")
    await pilot_wait_until(pilot, lambda: isinstance(app.screen, ImageDetail), timeout=10)
    await pilot.pause(0.1)
    return app.screen.query_one(FullImage)


async def _drill_down_detail(tmp_path, images, size=(80, 24)) -> dict:
    """Open the drill-down of class 0 predicted as 5, enter on its first image: what its detail shows."""
    run = drill_run(tmp_path)
    app = CifarApp(runs_dir=str(run.parent), start_screen=cell_screen(str(run), 0, 5), images=images)
    async with app.run_test(size=size) as pilot:
        full = await _detail(app, pilot)
        seen = dict(app=app.images, renderer=full.renderer, shown=full.shown, cells=tuple(full.shown.size),
                    source=app.screen.item.image, picture=getattr(full.shown, "image", None),
                    text=str(full.shown.render()) if full.renderer == HALFBLOCK else None)
        await pilot.press("escape")
    return seen


@pytest.mark.parametrize("how", ["without textual-image", "NO_COLOR", "no graphics answered"])
async def test_half_blocks_stay_where_real_pixels_cannot_be_shown(how, tmp_path, monkeypatch) -> None:
    images = KITTY
    if how == "without textual-image":
        monkeypatch.setitem(sys.modules, "textual_image", None)
        images = ImageProbe({}).result
    elif how == "NO_COLOR":
        monkeypatch.setenv("NO_COLOR", "1")  # kitty asked for, NO_COLOR wins
    else:
        images = ask_on_fake_terminal(Answers())  # DA1 without sixel, no kitty answer: GNOME Terminal, say
    seen = await _drill_down_detail(tmp_path, images)
    assert seen["app"] == HALFBLOCK and seen["renderer"] == HALFBLOCK
    assert seen["cells"] == (22, 11)  # 32 px in 22 x 11 cells at 80x24, as before
    if how == "NO_COLOR":
        assert set(seen["text"]) <= set(" ░▒▓█\n")
    else:
        assert set(seen["text"]) == {"▀", "\n"}


@pytest.mark.parametrize("size, cells", [((80, 24), (22, 11)), ((160, 48), (70, 35))], ids=["80x24", "160x48"])
async def test_kitty_shows_the_drill_down_image_with_textual_image(size, cells, tmp_path) -> None:
    needs_textual_image()
    from textual_image.widget import TGPImage

    seen = await _drill_down_detail(tmp_path, KITTY, size)
    assert isinstance(seen["shown"], TGPImage) and seen["cells"] == cells
    source = seen["source"]
    assert seen["picture"].size == (cells[0] * 10, cells[1] * 20)  # whole cells of textual-image's cell size
    assert _sampled(np.asarray(seen["picture"]), *source.shape[:2]).tolist() == source.tolist()


async def test_sixel_shows_the_most_confident_mistake_with_textual_image(tmp_path) -> None:
    needs_textual_image()
    from textual_image.widget import SixelImage

    run = drill_run(tmp_path)
    preds = predictions.load(predictions.path_of(run))
    app = CifarApp(runs_dir=str(run.parent), start_screen=MistakesScreen(str(run)), images=SIXEL)
    async with app.run_test(size=(80, 24)) as pilot:
        full = await _detail(app, pilot)
        assert app.screen.item.key == preds.mistakes()[0]
        source = app.screen.item.image
        assert isinstance(full.shown, SixelImage)
        pic = full.shown.image
        assert pic.size == (220, 220)
        assert _sampled(np.asarray(pic), *source.shape[:2]).tolist() == source.tolist()
        await pilot.press("escape")
        await pilot_wait_until(pilot, lambda: isinstance(app.screen, MistakesScreen), timeout=5)
