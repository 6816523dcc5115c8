"""The confusion matrix's drill-down cursor: start on the most confused pair, keys, enter, clicks, cell_at."""
from __future__ import annotations

from rich.style import Style
from textual.app import App, ComposeResult

from tui.widgets.confusion import CELL, HEAD, LABEL, ConfusionMatrix, most_confused, render_confusion

NAMES = ["airplane", "bird", "cat"]
MATRIX = [[50, 3, 7], [10, 40, 10], [2, 12, 46]]  # most confused: true cat, predicted bird (12)


class MatrixApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.chosen: list[tuple[int, int, int]] = []

    def compose(self) -> ComposeResult:
        yield ConfusionMatrix()

    def on_confusion_matrix_cell_chosen(self, message: ConfusionMatrix.CellChosen) -> None:
        self.chosen.append((message.true, message.pred, message.count))


def test_most_confused_is_the_largest_off_diagonal_cell_first_on_ties() -> None:
    assert most_confused(MATRIX) == (2, 1)
    assert most_confused([[5, 2, 0], [2, 5, 0], [0, 0, 5]]) == (0, 1)
    assert most_confused([[9, 0], [0, 9]]) == (0, 1)  # no errors: the first off-diagonal cell
    assert most_confused([[7]]) == (0, 0)
    assert most_confused(MATRIX, among=[0, 1]) == (1, 0)


def test_cursor_cell_is_reversed_underlined_and_named_under_the_matrix() -> None:
    text = render_confusion(MATRIX, NAMES, width=60, height=10, cursor=(2, 1))
    lines = text.plain.split("\n")
    assert lines[-1] == "enter: images of cat → bird (12 images)"
    row = sum(len(line) + 1 for line in lines[:HEAD + 2])  # offset of the cat row
    start = row + LABEL + CELL
    marked = [s for s in text.spans if isinstance(s.style, Style) and s.style.reverse and s.style.underline]
    assert [(s.start, s.end) for s in marked] == [(start, start + CELL)]
    assert render_confusion(MATRIX, NAMES, width=60, height=HEAD + 3, cursor=(2, 1)).plain.count("enter") == 0
    # Monochrome: the diagonal is already reversed, so the cursor there un-reverses (still underlined).
    mono = render_confusion(MATRIX, NAMES, monochrome=True, width=60, cursor=(0, 0))
    under = [s for s in mono.spans if isinstance(s.style, Style) and s.style.underline]
    assert under and all(s.style.reverse is False for s in under)


async def test_keys_move_among_classes_and_enter_posts_the_cell() -> None:
    app = MatrixApp()
    async with app.run_test(size=(60, 12)) as pilot:
        matrix = app.query_one(ConfusionMatrix)
        matrix.set_matrix(MATRIX, NAMES)
        matrix.focus()
        await pilot.pause()
        assert matrix.cursor == (2, 1)
        assert "enter: images of cat → bird (12 images)" in matrix.render().plain
        await pilot.press("left", "up")
        assert matrix.cursor == (1, 0)
        await pilot.press("end")
        assert matrix.cursor == (1, 2)
        await pilot.press("right", "down", "down", "down")  # clamped at the edges
        assert matrix.cursor == (2, 2)
        await pilot.press("home", "enter")
        await pilot.pause()
        assert app.chosen == [(2, 0, 2)]
        assert "enter" in app.screen.active_bindings  # shown in the footer while focused
        matrix.set_matrix([[row[j] + 1 for j in range(3)] for row in MATRIX], NAMES)
        assert matrix.cursor == (2, 0)  # a new evaluation keeps the cursor where the user left it


async def test_click_moves_the_cursor_then_chooses() -> None:
    app = MatrixApp()
    async with app.run_test(size=(60, 12)) as pilot:
        matrix = app.query_one(ConfusionMatrix)
        matrix.set_matrix(MATRIX, NAMES)
        await pilot.pause()
        assert matrix.cell_at(LABEL, HEAD) == (0, 0)
        assert matrix.cell_at(LABEL + 2 * CELL + CELL - 1, HEAD + 1) == (1, 2)
        assert matrix.cell_at(LABEL - 1, HEAD) is None  # the row label
        assert matrix.cell_at(LABEL, HEAD - 1) is None  # the column labels
        assert matrix.cell_at(LABEL + 3 * CELL, HEAD) is None  # right of the last column
        assert matrix.cell_at(LABEL, HEAD + 3) is None  # the hint line under the matrix
        await pilot.click(ConfusionMatrix, offset=(LABEL + 1, HEAD))
        assert matrix.cursor == (0, 0) and app.chosen == [] and app.focused is matrix
        await pilot.click(ConfusionMatrix, offset=(LABEL + 1, HEAD))
        await pilot.pause()
        assert app.chosen == [(0, 0, 50)]


async def test_cursor_stays_on_the_shown_classes() -> None:
    """Too small for all 12 classes: the least accurate are shown, and the cursor moves among those only."""
    n = 12
    big = [[90 if i == j else 1 for j in range(n)] for i in range(n)]
    big[3][3], big[3][9], big[8][8], big[5][5] = 40, 30, 60, 70  # 3, 8 and 5 are the least accurate
    app = MatrixApp()
    async with app.run_test(size=(LABEL + 3 * CELL, 7)) as pilot:
        matrix = app.query_one(ConfusionMatrix)
        matrix.set_matrix(big, [f"c{i}" for i in range(n)])
        assert matrix.cursor == (3, 9)  # the most confused pair overall
        matrix.focus()
        await pilot.pause()
        assert "3 of 12 classes" in matrix.render().plain
        assert matrix.cursor == (3, 5)  # 9 is not shown: the most confused shown cell instead (ties: first)
        await pilot.press("down", "down", "down", "right", "right")
        assert matrix.cursor == (8, 8)
        assert matrix.cell_at(LABEL, HEAD + 1) == (3, 3)  # below the 'k of n classes' note
        await pilot.press("enter")
        await pilot.pause()
        assert app.chosen == [(8, 8, 60)]


def test_the_cursor_follows_the_most_confused_pair_until_the_user_moves_it() -> None:
    from tui.widgets.confusion import ConfusionMatrix

    widget = ConfusionMatrix()
    first = [[5, 3, 0], [0, 8, 0], [0, 0, 8]]
    later = [[8, 0, 0], [0, 6, 0], [4, 0, 4]]
    widget.set_matrix(first, ["a", "b", "c"])
    assert widget.cursor == (0, 1)
    widget.set_matrix(later, ["a", "b", "c"])  # a later epoch: the most confused pair moved
    assert widget.cursor == (2, 0)
    widget.cursor, widget.user_moved = (1, 1), True  # what the arrow keys and a click do
    widget.set_matrix(first, ["a", "b", "c"])
    assert widget.cursor == (1, 1)
