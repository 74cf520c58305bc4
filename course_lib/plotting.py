"""Training plots that work in Jupyter, JupyterLab, Colab and headless runs.

Everything is drawn on ``matplotlib.figure.Figure`` objects, never through
pyplot's global state, so importing this module picks no backend and needs no
display. Figures reach a notebook as PNG images (``IPython.display``), and a
headless run writes PNG files.
"""

from __future__ import annotations

import io
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

__all__ = ["LivePlot", "in_notebook", "moving_average", "plot_curves"]

_DPI = 100
_BANDS = ("minmax", "std")


def in_notebook() -> bool:
    """Whether the code runs inside an IPython kernel (Jupyter, JupyterLab, Colab).

    A plain ``ipython`` terminal and ordinary python both count as not a
    notebook.

    Examples:
        >>> in_notebook()
        False
    """
    ipython = sys.modules.get("IPython")  # no kernel has run without importing IPython
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # a half-initialised IPython must not break plotting
        return False
    if shell is None:
        return False
    cls = type(shell)
    return cls.__name__ == "ZMQInteractiveShell" or cls.__module__.startswith("google.colab")


def moving_average(values: Sequence[float] | np.ndarray, window: int) -> np.ndarray:
    """Trailing mean of the last ``window`` values at every index.

    Entry ``i`` is the mean of ``values[max(0, i - window + 1) : i + 1]``, so
    the first entries average fewer values and the output has the length of
    the input. A NaN only spoils the windows that contain it.

    Args:
        values: a 1-D sequence of numbers.
        window: how many values to average (>= 1).

    Returns:
        A float64 array of the same length as ``values``.

    Examples:
        >>> moving_average([1, 2, 3, 4, 5], window=2)
        array([1. , 1.5, 2.5, 3.5, 4.5])
        >>> moving_average([4, 8, 0], window=10)
        array([4., 6., 4.])
    """
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ValueError(f"window must be an int >= 1, got {window!r}; pass e.g. window=20.")
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(
            f"values must be 1-D, got shape {x.shape}; pass one number per episode/update."
        )
    n = x.size
    out = np.empty(n, dtype=np.float64)
    head = min(int(window) - 1, n)
    out[:head] = np.cumsum(x[:head]) / np.arange(1, head + 1)
    if n >= window:
        out[head:] = np.lib.stride_tricks.sliding_window_view(x, int(window)).mean(axis=1)
    return out


def _scalar(value: Any) -> float:
    """A python float from a number, a numpy scalar or a one-element tensor."""
    if hasattr(value, "detach"):  # a torch tensor, maybe still attached to the graph
        value = value.detach()
    return float(value)


def _to_1d(values: Any, name: str) -> np.ndarray:
    """A float64 vector from a list of numbers, 0-d tensors or an array."""
    if isinstance(values, np.ndarray):
        arr = values.astype(np.float64, copy=False)
    else:
        try:
            arr = np.fromiter((_scalar(v) for v in values), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must be a sequence of numbers, got {type(values).__name__}; "
                f"append plain floats, e.g. {name}.append(loss.item())."
            ) from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}; pass one number per entry.")
    return arr


def _count(value: Any) -> str:
    """An int with thousands separators (``25,000``); anything else as ``str``."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return f"{int(value):,}"
    return str(value)


def _figure_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _write_png(png: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


def _no_data(ax: Axes) -> None:
    ax.text(
        0.5,
        0.5,
        "no data yet",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="0.5",
        fontsize="large",
    )
    ax.set_xticks([])
    ax.set_yticks([])


class LivePlot:
    """A live figure of training progress: scores, actor loss, critic loss.

    Call :meth:`update` as often as you like with the full lists so far; it
    redraws at most once every ``min_interval`` seconds. In a notebook the
    figure is shown once and then replaced in place (other output of the cell
    is kept). Outside a notebook it is written to ``path`` as a PNG, or not
    drawn at all when ``path`` is ``None``.

    Args:
        title: a title over the three panels.
        window: the moving-average window for the scores.
        threshold: the reward criterion, drawn as a dashed line.
        min_interval: the fewest seconds between two redraws.
        path: where to save the PNG at each redraw (also in a notebook).
        x_label: what one score is (the x axis of the score panel).
        panel_titles: the titles of the two right-hand panels, which plot the
            second and third arguments of :meth:`update` (losses by default).

    Examples:
        >>> import tempfile, pathlib
        >>> tmp = tempfile.TemporaryDirectory()
        >>> out = pathlib.Path(tmp.name) / "live.png"
        >>> plot = LivePlot("demo", path=out, threshold=10)
        >>> plot.update([1.0, 5.0, 9.0], [0.3, 0.2], [1.5, 1.1])
        True
        >>> plot.update([1.0, 5.0, 9.0, 12.0])  # too soon after the last draw
        False
        >>> plot.close()  # draws the latest data
        >>> out.stat().st_size > 0
        True
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        title: str = "",
        *,
        window: int = 20,
        threshold: float | None = None,
        min_interval: float = 2.0,
        path: str | Path | None = None,
        x_label: str = "episode",
        panel_titles: tuple[str, str] = ("actor loss", "critic loss"),
    ) -> None:
        if len(panel_titles) != 2:
            raise ValueError(
                f"panel_titles names the two right-hand panels, got {panel_titles!r}; "
                f'pass e.g. ("loss", "running reward").'
            )
        self.panel_titles = tuple(panel_titles)
        if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
            raise ValueError(f"window must be an int >= 1, got {window!r}; pass e.g. window=20.")
        if not min_interval >= 0:
            raise ValueError(
                f"min_interval must be >= 0 seconds, got {min_interval!r}; pass e.g. 2.0."
            )
        self.title = title
        self.window = int(window)
        self.threshold = None if threshold is None else float(threshold)
        self.min_interval = float(min_interval)
        self.path = None if path is None else Path(path)
        self.x_label = x_label
        self.notebook = in_notebook()
        self.fig = Figure(figsize=(13, 3.8), layout="constrained")
        self._axes: list[Axes] = list(
            self.fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.5, 1, 1]})
        )
        self._handle: Any = None
        self._last_draw: float | None = None
        self._latest: tuple[Any, Any, Any, int | None] | None = None

    def update(
        self,
        scores: Sequence[float],
        actor_losses: Sequence[float] = (),
        critic_losses: Sequence[float] = (),
        *,
        step: int | None = None,
        evals: Sequence[tuple[float, float]] = (),
        force: bool = False,
    ) -> bool:
        """Redraw with the full histories, unless the last redraw was too recent.

        Args:
            scores: the return of every finished episode so far.
            actor_losses: every actor loss so far (may be empty).
            critic_losses: every critic loss so far (may be empty).
            step: a step counter to show in the title (e.g. env steps).
            evals: greedy evaluations as ``(x, mean return)`` points, ``x`` on the
                score panel's axis (e.g. :attr:`CriterionTracker.points`).
            force: redraw even if ``min_interval`` has not passed.

        Returns:
            Whether the figure was redrawn.
        """
        self._latest = (scores, actor_losses, critic_losses, step, list(evals))
        if not self.notebook and self.path is None:
            return False
        if (
            not force
            and self._last_draw is not None
            and time.monotonic() - self._last_draw < self.min_interval
        ):
            return False
        self._draw(*self._latest)
        self._last_draw = time.monotonic()
        return True

    def close(self) -> None:
        """Draw the latest data one last time, ignoring ``min_interval``."""
        if self._latest is not None:
            scores, actor_losses, critic_losses, step, evals = self._latest
            self.update(scores, actor_losses, critic_losses, step=step, evals=evals, force=True)

    def __enter__(self) -> LivePlot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _draw(
        self,
        scores: Any,
        actor_losses: Any,
        critic_losses: Any,
        step: int | None,
        evals: list[tuple[float, float]],
    ) -> None:
        ax_scores, ax_actor, ax_critic = self._axes
        for ax in self._axes:
            ax.clear()
        self._draw_scores(ax_scores, _to_1d(scores, "scores"), step, evals)
        for ax, values, name, title, color in (
            (ax_actor, actor_losses, "actor_losses", self.panel_titles[0], "C1"),
            (ax_critic, critic_losses, "critic_losses", self.panel_titles[1], "C2"),
        ):
            self._draw_loss(ax, _to_1d(values, name), title, color)
        if self.title:
            self.fig.suptitle(self.title, fontweight="bold")
        png = _figure_png(self.fig)
        if self.path is not None:
            _write_png(png, self.path)
        if self.notebook:
            from IPython.display import Image, display

            image = Image(data=png, format="png")
            if self._handle is None:
                self._handle = display(image, display_id=True)
            else:
                self._handle.update(image)

    def _draw_scores(
        self, ax: Axes, scores: np.ndarray, step: int | None, evals: list[tuple[float, float]]
    ) -> None:
        n = scores.size
        parts = [] if step is None else [f"step {_count(step)}"]
        parts.append(f"{self.x_label} {n}")
        ax.set_xlabel(self.x_label)
        if not n:
            _no_data(ax)
            ax.set_title(" · ".join(parts))
            return
        x = np.arange(1, n + 1)
        average = moving_average(scores, self.window)
        ax.plot(x, scores, color="C0", lw=0.8, alpha=0.35, label="score")
        ax.plot(x, average, color="C0", lw=2.0, label=f"avg({self.window})")
        parts.append(f"avg({self.window}) {average[-1]:.1f}")
        if evals:
            ex, ey = zip(*evals, strict=True)
            ax.plot(ex, ey, "o", color="C3", ms=4, label="greedy eval")
        if self.threshold is not None:
            ax.axhline(self.threshold, color="C3", ls="--", lw=1.2, label="criterion")
        # "best": a learning curve that rises to the top left (MountainCar's first successes)
        # or stays low on the right (a failed run) leaves a different corner free
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
        ax.grid(alpha=0.3)
        ax.set_title(" · ".join(parts))
        ax.set_ylabel("score")

    @staticmethod
    def _draw_loss(ax: Axes, values: np.ndarray, title: str, color: str) -> None:
        ax.set_title(title)
        if not values.size:
            _no_data(ax)
            return
        x = np.arange(1, values.size + 1)
        smooth = values.size >= 100
        ax.plot(x, values, color=color, lw=0.8, alpha=0.35 if smooth else 0.9)
        if smooth:
            ax.plot(x, moving_average(values, values.size // 50), color=color, lw=1.8)
        ax.set_xlabel("update")
        ax.grid(alpha=0.3)


def _stack_runs(
    label: str, runs: Sequence[Sequence[float]] | np.ndarray
) -> tuple[np.ndarray, bool]:
    """Runs of one label as an (n_seeds, n_points) array, and whether they were ragged."""
    if isinstance(runs, np.ndarray):
        arr = runs.astype(np.float64, copy=False)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError(
                f"curves[{label!r}] must be 2-D (n_seeds, n_points), got shape {arr.shape}."
            )
        ragged = False
    else:
        rows = list(runs)
        if rows and np.ndim(rows[0]) == 0:  # one run given as a flat list
            rows = [rows]
        vectors = [np.asarray(row, dtype=np.float64).ravel() for row in rows]
        if not vectors:
            raise ValueError(f"curves[{label!r}] holds no runs; give at least one list of values.")
        shortest = min(v.size for v in vectors)
        ragged = any(v.size != shortest for v in vectors)
        arr = np.stack([v[:shortest] for v in vectors])
    if arr.shape[1] == 0:
        raise ValueError(f"curves[{label!r}] has runs with no points; record at least one value.")
    return arr, ragged


def plot_curves(
    curves: Mapping[str, Sequence[Sequence[float]] | np.ndarray],
    x: Sequence[float] | np.ndarray | None = None,
    *,
    title: str = "",
    xlabel: str = "env steps",
    ylabel: str = "return",
    band: str = "minmax",
    threshold: float | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Compare learning curves over several seeds.

    Each label gets the median over its seeds as a line and a shaded band:
    min to max over the seeds (``band="minmax"``) or mean ± one standard
    deviation (``band="std"``). Runs of unequal length are cut to the
    shortest, with one warning.

    Args:
        curves: label -> runs, as an (n_seeds, n_points) array or a list of
            lists (one per seed); a flat list counts as one seed.
        x: the x value of each point (e.g. env steps); default 0, 1, 2, ...
        title: the figure title.
        xlabel: the x-axis label.
        ylabel: the y-axis label.
        band: ``"minmax"`` or ``"std"``.
        threshold: the reward criterion, drawn as a dashed line.
        path: save the figure there as a PNG.

    Returns:
        The figure (in a notebook it is also displayed; end the line with
        ``;`` or assign the result to avoid a second text line).

    Examples:
        >>> fig = plot_curves({"A2C": [[0, 5, 9], [1, 6, 10]]}, x=[0, 1000, 2000])
        >>> fig.axes[0].get_legend().get_texts()[0].get_text()
        'A2C (2 seeds)'
    """
    if band not in _BANDS:
        raise ValueError(f"band must be 'minmax' or 'std', got {band!r}.")
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(
            "curves must be a non-empty dict of label -> runs, e.g. {'A2C': returns_per_seed}."
        )
    xs = None if x is None else np.asarray(x, dtype=np.float64).ravel()
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ragged: list[str] = []
    for i, (label, runs) in enumerate(curves.items()):
        arr, was_ragged = _stack_runs(str(label), runs)
        if was_ragged:
            ragged.append(f"{label!r} -> {arr.shape[1]} points")
        n_seeds, n_points = arr.shape
        if xs is None:
            xi = np.arange(n_points, dtype=np.float64)
        elif xs.size >= n_points:
            xi = xs[:n_points]
        else:
            raise ValueError(
                f"x has {xs.size} values but curves[{label!r}] has {n_points} points; "
                f"pass one x value per point (or leave x=None)."
            )
        if band == "minmax":
            low, high = arr.min(axis=0), arr.max(axis=0)
        else:
            mean, std = arr.mean(axis=0), arr.std(axis=0)
            low, high = mean - std, mean + std
        color = f"C{i % 10}"
        seeds = "seed" if n_seeds == 1 else "seeds"
        ax.plot(xi, np.median(arr, axis=0), color=color, lw=2, label=f"{label} ({n_seeds} {seeds})")
        if n_seeds > 1:
            ax.fill_between(xi, low, high, color=color, alpha=0.2, lw=0)
    if ragged:
        warnings.warn(
            "runs of unequal length were cut to the shortest run of their label: "
            + ", ".join(ragged),
            UserWarning,
            stacklevel=2,
        )
    if threshold is not None:
        ax.axhline(threshold, color="0.3", ls="--", lw=1.2, label="criterion")
    band_name = "min–max" if band == "minmax" else "mean ± std"
    ax.legend(title=f"median, band: {band_name}", fontsize="small", title_fontsize="small")
    if xs is not None and np.nanmax(np.abs(xs)) >= 1e4:
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    notebook = in_notebook()
    if path is not None or notebook:
        png = _figure_png(fig)
        if path is not None:
            _write_png(png, Path(path))
        if notebook:
            from IPython.display import Image, display

            display(Image(data=png, format="png"))
    return fig
