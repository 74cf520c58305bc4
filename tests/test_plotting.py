"""Tests of course_lib.plotting: exact moving averages, headless live plots, curves."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib import plotting
from course_lib.plotting import LivePlot, in_notebook, moving_average, plot_curves

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- moving_average ---------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "window", "expected"),
    [
        ([1, 2, 3, 4, 5], 2, [1.0, 1.5, 2.5, 3.5, 4.5]),
        ([1, 2, 3, 4, 5], 3, [1.0, 1.5, 2.0, 3.0, 4.0]),
        ([3, 1, 4, 1, 5], 1, [3.0, 1.0, 4.0, 1.0, 5.0]),
        ([4, 8, 0], 10, [4.0, 6.0, 4.0]),
        ([10, 0, 0, 0], 4, [10.0, 5.0, 10 / 3, 2.5]),
        ([], 5, []),
    ],
)
def test_moving_average_exact(values: list[float], window: int, expected: list[float]) -> None:
    out = moving_average(values, window)
    assert out.dtype == np.float64
    assert out.shape == (len(values),)
    np.testing.assert_array_equal(out, np.array(expected, dtype=np.float64))


def test_moving_average_matches_the_definition() -> None:
    values = np.random.default_rng(0).normal(size=57)
    window = 6
    expected = [values[max(0, i - window + 1) : i + 1].mean() for i in range(values.size)]
    np.testing.assert_allclose(moving_average(values, window), expected, rtol=1e-12)


def test_moving_average_keeps_nan_local() -> None:
    out = moving_average([1.0, np.nan, 3.0, 5.0, 7.0], 2)
    assert np.isnan(out[1]) and np.isnan(out[2])
    np.testing.assert_array_equal(out[[0, 3, 4]], [1.0, 4.0, 6.0])


@pytest.mark.parametrize("window", [0, -2, 2.5, True])
def test_moving_average_rejects_bad_window(window: Any) -> None:
    with pytest.raises(ValueError, match="window must be an int >= 1"):
        moving_average([1.0, 2.0], window)


def test_moving_average_rejects_2d() -> None:
    with pytest.raises(ValueError, match=r"1-D, got shape \(2, 2\)"):
        moving_average([[1, 2], [3, 4]], 2)


def test_not_a_notebook_under_pytest() -> None:
    assert in_notebook() is False


# --- LivePlot -----------------------------------------------------------------


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_liveplot_headless_without_path_draws_nothing(tmp_path: Path) -> None:
    plot = LivePlot()
    assert plot.update([1.0, 2.0], [0.1], [0.2], force=True) is False
    plot.close()
    assert list(tmp_path.iterdir()) == []


def test_liveplot_writes_png_and_rate_limits(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "live.png"
    plot = LivePlot("run", window=2, threshold=5.0, path=path, min_interval=60.0)
    assert plot.update([1.0, 2.0, 6.0], [0.5, 0.4], [3.0, 2.0]) is True
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 1000
    assert plot.fig.axes[0].get_title() == "episode 3 · avg(2) 4.0"
    # Too soon: nothing is redrawn, the file stays as it was.
    assert plot.update([1.0, 2.0, 6.0, 8.0]) is False
    assert plot.fig.axes[0].get_title() == "episode 3 · avg(2) 4.0"
    assert plot.update([1.0, 2.0, 6.0, 8.0], force=True) is True
    assert plot.fig.axes[0].get_title() == "episode 4 · avg(2) 7.0"


def test_liveplot_zero_interval_always_draws(tmp_path: Path) -> None:
    plot = LivePlot(path=tmp_path / "p.png", min_interval=0.0)
    assert [plot.update([float(i)] * (i + 1)) for i in range(3)] == [True, True, True]


def test_liveplot_close_draws_the_latest_data(tmp_path: Path) -> None:
    plot = LivePlot(path=tmp_path / "p.png", window=3, min_interval=60.0)
    plot.update([1.0])
    scores = [1.0, 2.0, 3.0, 4.0]
    assert plot.update(scores) is False
    plot.close()
    assert plot.fig.axes[0].get_title() == "episode 4 · avg(3) 3.0"


def test_liveplot_title_with_step_and_threshold(tmp_path: Path) -> None:
    plot = LivePlot("A2C", window=20, threshold=475, path=tmp_path / "p.png")
    plot.update([10.0, 20.0], step=25000)
    ax = plot.fig.axes[0]
    assert ax.get_title() == "step 25,000 · episode 2 · avg(20) 15.0"
    assert plot.fig.get_suptitle() == "A2C"
    criterion = [line for line in ax.get_lines() if line.get_label() == "criterion"]
    assert len(criterion) == 1
    assert list(criterion[0].get_ydata()) == [475, 475]
    average = next(line for line in ax.get_lines() if line.get_label() == "avg(20)")
    np.testing.assert_array_equal(average.get_ydata(), [10.0, 15.0])


def test_liveplot_empty_lists_show_no_data(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    plot = LivePlot(path=path, threshold=1.0)
    assert plot.update([], [], [], force=True) is True
    assert path.stat().st_size > 0
    assert _texts(plot.fig) == ["no data yet"] * 3
    assert plot.fig.axes[0].get_title() == "episode 0"


def test_liveplot_only_the_empty_loss_panel_says_no_data(tmp_path: Path) -> None:
    plot = LivePlot(path=tmp_path / "p.png")
    plot.update([1.0, 2.0], actor_losses=[0.5] * 150, force=True)
    assert [t.get_text() for t in plot.fig.axes[1].texts] == []
    assert [t.get_text() for t in plot.fig.axes[2].texts] == ["no data yet"]
    assert len(plot.fig.axes[1].get_lines()) == 2  # raw + smoothed
    # After data arrives everywhere, the placeholders are gone.
    plot.update([1.0, 2.0], [0.5], [0.7], force=True)
    assert _texts(plot.fig) == []
    assert len(plot.fig.axes[2].get_xticks()) > 0


def test_liveplot_accepts_arrays_and_tensors(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    plot = LivePlot(path=tmp_path / "p.png", window=2)
    plot.update(np.array([1.0, 3.0]), [torch.tensor(0.5, requires_grad=True)], (), force=True)
    assert plot.fig.axes[0].get_title() == "episode 2 · avg(2) 2.0"


def test_liveplot_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="window must be an int >= 1, got 0"):
        LivePlot(window=0)
    with pytest.raises(ValueError, match="min_interval must be >= 0"):
        LivePlot(min_interval=-1)


class _FakeHandle:
    def __init__(self) -> None:
        self.updates: list[Any] = []

    def update(self, obj: Any) -> None:
        self.updates.append(obj)


def test_liveplot_in_notebook_displays_once_then_updates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import IPython.display

    shown: list[tuple[Any, Any]] = []
    handle = _FakeHandle()

    def fake_display(obj: Any, display_id: Any = None) -> _FakeHandle:
        shown.append((obj, display_id))
        return handle

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(plotting, "in_notebook", lambda: True)
    path = tmp_path / "nb.png"
    plot = LivePlot(min_interval=0.0, path=path)
    assert plot.update([1.0]) and plot.update([1.0, 2.0]) and plot.update([1.0, 2.0, 3.0])
    assert len(shown) == 1
    assert shown[0][1] is True
    assert isinstance(shown[0][0], IPython.display.Image)
    assert shown[0][0].data.startswith(PNG_MAGIC)
    assert len(handle.updates) == 2
    assert path.read_bytes() == handle.updates[-1].data


# --- plot_curves ----------------------------------------------------------------


def _band_limits(fig: Figure, index: int = 0) -> tuple[float, float]:
    vertices = fig.axes[0].collections[index].get_paths()[0].vertices
    return float(vertices[:, 1].min()), float(vertices[:, 1].max())


def test_plot_curves_median_line_and_minmax_band(tmp_path: Path) -> None:
    runs = np.array([[0.0, 10.0, 20.0], [2.0, 14.0, 30.0], [1.0, 12.0, 50.0]])
    path = tmp_path / "curves.png"
    fig = plot_curves({"A2C": runs}, x=[0, 500, 1000], threshold=40, path=path, title="t")
    assert isinstance(fig, Figure)
    assert path.read_bytes().startswith(PNG_MAGIC)
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), [0, 500, 1000])
    np.testing.assert_array_equal(line.get_ydata(), [1.0, 12.0, 30.0])
    assert _band_limits(fig) == (0.0, 50.0)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["A2C (3 seeds)", "criterion"]
    assert ax.get_xlabel() == "env steps" and ax.get_ylabel() == "return"
    assert ax.get_title() == "t"


def test_plot_curves_std_band() -> None:
    runs = np.array([[0.0, 10.0], [4.0, 10.0]])
    fig = plot_curves({"x": runs}, band="std")
    assert _band_limits(fig) == (0.0, 10.0)  # mean ± std: [2 ± 2, 10 ± 0]
    assert "mean ± std" in fig.axes[0].get_legend().get_title().get_text()


def test_plot_curves_ragged_runs_are_cut_with_one_warning() -> None:
    curves = {
        "A": [[1, 2, 3, 4], [1, 2, 3], [5, 6, 7, 8, 9]],
        "B": [[0, 0], [1, 1, 1]],
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot_curves(curves)
    ragged = [w for w in caught if "unequal length" in str(w.message)]
    assert len(ragged) == 1
    assert "'A' -> 3 points" in str(ragged[0].message)
    lines = fig.axes[0].get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(lines[1].get_xdata(), [0.0, 1.0])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["A (3 seeds)", "B (2 seeds)"]


def test_plot_curves_single_run_has_no_band() -> None:
    fig = plot_curves({"solo": [1.0, 2.0, 3.0]})
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "solo (1 seed)"
    assert len(fig.axes[0].collections) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"curves": {"a": [[1, 2]]}, "band": "iqr"}, "band must be 'minmax' or 'std'"),
        ({"curves": {}}, "non-empty dict"),
        ({"curves": {"a": [[1, 2, 3]]}, "x": [0, 1]}, "x has 2 values but"),
        ({"curves": {"a": np.zeros((2, 2, 2))}}, "must be 2-D"),
        ({"curves": {"a": []}}, "holds no runs"),
    ],
)
def test_plot_curves_bad_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plot_curves(**kwargs)


def _points_under_legend(ax: Any) -> int:
    """How many plotted score points (display coordinates) lie inside the legend's box."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(ax.figure).get_renderer()
    ax.figure.draw(renderer)  # lays the figure out as the PNG was: the legend's place is known
    box = ax.get_legend().get_window_extent(renderer)
    inside = 0
    for line in ax.get_lines():
        if line.get_label() == "criterion":
            continue
        xy = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
        inside += sum(box.contains(x, y) for x, y in xy)
    return inside


@pytest.mark.parametrize(
    ("scores", "criterion"),
    [
        # MountainCar: the first successes climb to the top within a few episodes
        ([-30.0, 20.0, 60.0, 85.0, 88.0] + [90.0 + (i % 3) for i in range(35)], 90.0),
        # Pendulum: from -1,500 up to -150
        (list(np.linspace(-1500.0, -150.0, 40)), -200.0),
        # a run that never learns: flat at the bottom, far below the criterion
        ([-1000.0 + (i % 5) for i in range(40)], -200.0),
    ],
    ids=["rises-at-once", "rises-slowly", "flat"],
)
def test_liveplot_legend_leaves_the_scores_visible(
    tmp_path: Path, scores: list[float], criterion: float
) -> None:
    plot = LivePlot("t", window=5, threshold=criterion, path=tmp_path / "p.png")
    plot.update(scores, [0.0] * 10, [0.0] * 10, evals=[(10.0, scores[9]), (30.0, scores[29])])
    plot.close()
    assert _points_under_legend(plot.fig.axes[0]) == 0
