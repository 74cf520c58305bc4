"""Watch an agent play: record an episode and show it as an animated GIF.

GIFs are made with imageio's pillow plugin, so no ffmpeg and no virtual
display are needed, and :func:`show_animation` embeds the GIF in an HTML
``<img>`` tag that Jupyter, JupyterLab and Colab all show.

Examples:
    In a notebook, the last line of a cell::

        play("CartPole-v1", lambda obs: agent.act(obs))
"""

from __future__ import annotations

import base64
import contextlib
import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import gymnasium as gym
import numpy as np

from course_lib.envs import _check_seed, make_env
from course_lib.evaluation import _check_positive_int, to_env_action
from course_lib.plotting import in_notebook

if TYPE_CHECKING:
    from IPython.display import HTML

__all__ = [
    "Episode",
    "play",
    "record_episode",
    "save_animation",
    "show_animation",
    "to_gif_bytes",
]

_MAX_GIF_FPS = 50  # browsers slow down GIF frames shorter than 20 ms


class Episode(NamedTuple):
    """One recorded episode.

    Attributes:
        frames: the kept frames, uint8 arrays of shape (H, W, 3); the first
            shows the start state and the last the final state.
        total_reward: the undiscounted return.
        n_steps: the number of steps played.
        terminated: the environment ended the episode (e.g. the pole fell).
        truncated: the time limit (or ``max_steps``) cut the episode.
    """

    frames: list[np.ndarray]
    total_reward: float
    n_steps: int
    terminated: bool
    truncated: bool


def _imageio() -> Any:
    try:
        import imageio.v3 as iio
    except ImportError as exc:
        raise ImportError(
            "making animations needs imageio; install it with `pip install imageio`."
        ) from exc
    return iio


def _shrink(frame: Any, width: int) -> np.ndarray:
    """A uint8 RGB copy of ``frame``, at most ``width`` pixels wide (aspect kept)."""
    arr = np.asarray(frame)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(
            f"a frame must be an RGB image of shape (H, W, 3), got shape {arr.shape}; "
            f"render with render_mode='rgb_array'."
        )
    arr = arr[:, :, :3]
    height, old_width = arr.shape[:2]
    if old_width <= width:
        return np.ascontiguousarray(arr)
    from PIL import Image

    new_height = max(1, round(height * width / old_width))
    image = Image.fromarray(np.ascontiguousarray(arr)).resize(
        (width, new_height), Image.Resampling.BILINEAR
    )
    return np.asarray(image)


class _FrameBuffer:
    """Keeps a bounded, evenly spaced subset of an episode's frames.

    With a fixed ``frame_skip`` every ``frame_skip``-th frame is kept. Without
    one, frames are taken at a stride that starts at 1 and doubles (dropping
    every other kept frame) whenever more than ``max_frames - 1`` are held.
    Memory thus stays bounded however long the episode, and the final stride
    is the smallest power of two that leaves at most ``max_frames`` frames
    (e.g. 8 for MountainCar's 999 steps: 126 frames). The last frame is
    always kept, in addition to the strided ones.
    """

    def __init__(self, frame_skip: int | None, max_frames: int, width: int) -> None:
        self.fixed = frame_skip is not None
        self.stride = frame_skip if frame_skip is not None else 1
        self.capacity = max_frames - 1  # one place stays free for the last frame
        self.width = width
        self.kept: list[tuple[int, np.ndarray]] = []
        self.last: tuple[int, np.ndarray] | None = None

    def wants(self, index: int) -> bool:
        return index % self.stride == 0

    def add(self, index: int, frame: Any, *, last: bool = False) -> None:
        item = (index, _shrink(frame, self.width))
        if self.wants(index):
            self.kept.append(item)
        if last:
            self.last = item
        # The last frame may take the place kept free for it: no thinning then.
        if not self.fixed and not last and len(self.kept) > self.capacity:
            self.stride *= 2
            self.kept = [(i, f) for i, f in self.kept if i % self.stride == 0]

    def frames(self) -> list[np.ndarray]:
        chosen = list(self.kept)
        if self.last is not None and (not chosen or chosen[-1][0] != self.last[0]):
            chosen.append(self.last)
        return [frame for _, frame in chosen]


def record_episode(
    env: gym.Env | str,
    policy: Callable[[np.ndarray], Any] | None = None,
    *,
    seed: int | None = 0,
    max_steps: int | None = None,
    frame_skip: int | None = None,
    max_frames: int = 150,
    width: int = 320,
) -> Episode:
    """Play one episode and keep its frames.

    Args:
        env: an environment id (made with ``render_mode="rgb_array"`` and
            closed afterwards), or an environment made with that render mode.
        policy: a function from one observation to one action, in the
            environment's own range; ``None`` plays random actions.
        seed: the seed of ``reset`` (and, when ``env`` is an id, of the random
            actions too); ``None`` continues the environment's random stream.
        max_steps: stop after this many steps (``None``: until the episode ends).
        frame_skip: keep every ``frame_skip``-th frame; ``None`` chooses it
            after the episode so that at most ``max_frames`` frames are kept.
        max_frames: the most frames to keep when ``frame_skip`` is ``None``.
        width: frames wider than this are scaled down to it (aspect kept).

    Returns:
        An :class:`Episode`. Its ``truncated`` is also true when ``max_steps``
        cut the episode.

    Raises:
        ValueError: the environment does not render ``rgb_array`` frames, or a
            bad argument or action.

    Examples:
        >>> ep = record_episode("CartPole-v1", lambda obs: 0, seed=0)
        >>> ep.n_steps, ep.terminated, len(ep.frames), ep.frames[0].shape
        (11, True, 12, (213, 320, 3))
    """
    if seed is not None:
        seed = _check_seed(seed)
    if max_steps is not None:
        max_steps = _check_positive_int(max_steps, "max_steps")
    if frame_skip is not None:
        frame_skip = _check_positive_int(frame_skip, "frame_skip")
    max_frames = _check_positive_int(max_frames, "max_frames")
    if max_frames < 2:
        raise ValueError(
            f"max_frames must be >= 2 (the first and the last frame), got {max_frames}."
        )
    width = _check_positive_int(width, "width")
    if policy is not None and not callable(policy):
        raise TypeError(
            f"policy must be a function from an observation to an action or None, "
            f"got {type(policy).__name__}."
        )

    owned = isinstance(env, str)
    if isinstance(env, str):
        env = make_env(env, seed=seed, render_mode="rgb_array")  # seeds random actions too
    elif getattr(env, "render_mode", None) != "rgb_array":
        raise ValueError(
            f"recording needs frames, but this environment has "
            f"render_mode={getattr(env, 'render_mode', None)!r}; make it with "
            f'make_env(env_id, render_mode="rgb_array"), or pass the env id string.'
        )

    if policy is None:
        no_grad: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    else:
        import torch

        no_grad = torch.no_grad()

    buffer = _FrameBuffer(frame_skip, max_frames, width)
    total, steps = 0.0, 0
    terminated = truncated = cut = False
    try:
        obs, _ = env.reset(seed=seed)
        buffer.add(0, env.render())
        with no_grad:
            while True:
                if policy is None:
                    action = env.action_space.sample()
                else:
                    action = to_env_action(policy(obs), env.action_space, where=f"step {steps}: ")
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                steps += 1
                cut = max_steps is not None and steps >= max_steps
                done = bool(terminated or truncated or cut)
                if done or buffer.wants(steps):
                    buffer.add(steps, env.render(), last=done)
                if done:
                    break
    finally:
        if owned:
            env.close()
    return Episode(
        frames=buffer.frames(),
        total_reward=total,
        n_steps=steps,
        terminated=bool(terminated),
        truncated=bool(truncated or (cut and not terminated)),
    )


def _frame_stack(frames: Sequence[np.ndarray]) -> np.ndarray:
    if len(frames) == 0:
        raise ValueError("frames is empty; record an episode first with record_episode(...).")
    shapes = {np.shape(f) for f in frames}
    if len(shapes) != 1:
        raise ValueError(
            f"all frames must have the same shape, got {sorted(shapes)}; "
            f"record them from one environment with one width."
        )
    arr = np.stack([np.asarray(f) for f in frames])
    if arr.ndim != 4 or arr.shape[3] != 3 or arr.dtype != np.uint8:
        raise ValueError(
            f"frames must be uint8 RGB images of shape (H, W, 3), got {arr.dtype} "
            f"images of shape {arr.shape[1:]}; use the frames of record_episode(...)."
        )
    return arr


def _check_fps(fps: float) -> float:
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 < fps <= _MAX_GIF_FPS:
        raise ValueError(
            f"fps must be a number in (0, {_MAX_GIF_FPS}], got {fps!r}: browsers slow "
            f"down faster GIFs. Keep fewer frames (frame_skip) to speed a clip up."
        )
    return float(fps)


def to_gif_bytes(frames: Sequence[np.ndarray], fps: float = 30) -> bytes:
    """Encode frames as a looping GIF.

    Identical consecutive frames are stored once with a longer duration (this
    is Pillow's GIF writer), so the clip plays at the right speed but a reader
    may count fewer frames than were given.

    Args:
        frames: uint8 RGB frames of one shape, e.g. ``Episode.frames``.
        fps: frames per second (at most 50).

    Returns:
        The GIF file's bytes.

    Examples:
        >>> gif = to_gif_bytes([np.zeros((4, 6, 3), np.uint8)] * 2, fps=10)
        >>> gif[:4]
        b'GIF8'
    """
    fps = _check_fps(fps)
    arr = _frame_stack(frames)
    iio = _imageio()
    data: bytes = iio.imwrite(
        "<bytes>", arr, extension=".gif", plugin="pillow", duration=1000.0 / fps, loop=0
    )
    return data


def save_animation(frames: Sequence[np.ndarray], path: str | Path, fps: float = 30) -> Path:
    """Save frames as a ``.gif`` (always works) or ``.mp4`` (needs imageio-ffmpeg).

    Args:
        frames: uint8 RGB frames of one shape.
        path: the file to write; its folder is created if needed.
        fps: frames per second (at most 50 for a GIF).

    Returns:
        The path written.

    Raises:
        ValueError: an unsupported suffix, or bad frames.
        RuntimeError: MP4 writing failed (usually: no ffmpeg plugin).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        data = to_gif_bytes(frames, fps)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path
    if suffix != ".mp4":
        raise ValueError(
            f"cannot save {path.name!r}: use a .gif file name (works everywhere) or "
            f".mp4 (needs `pip install imageio-ffmpeg`)."
        )
    if not (isinstance(fps, int | float) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}.")
    arr = _frame_stack(frames)
    iio = _imageio()
    existed = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        iio.imwrite(path, arr, plugin="FFMPEG", fps=fps)
    except Exception as exc:  # missing plugin, missing binary, codec trouble
        if not existed:
            path.unlink(missing_ok=True)
        raise RuntimeError(
            f"could not write {path} as MP4 ({type(exc).__name__}: {exc}). Install the "
            f"ffmpeg plugin with `pip install imageio-ffmpeg`, or save as .gif instead."
        ) from exc
    return path


def show_animation(
    frames: Sequence[np.ndarray], fps: float = 30, *, caption: str | None = None
) -> HTML:
    """An HTML object that shows the frames as an inline GIF.

    Return it as the last expression of a notebook cell (or pass it to
    ``IPython.display.display``). It needs neither ffmpeg nor a display.

    Args:
        frames: uint8 RGB frames of one shape.
        fps: frames per second (at most 50).
        caption: a line shown under the animation, e.g. the return.

    Returns:
        An ``IPython.display.HTML`` object.

    Examples:
        >>> out = show_animation([np.zeros((4, 6, 3), np.uint8)], caption="hi")
        >>> "data:image/gif;base64," in out.data, "<figcaption" in out.data
        (True, True)
    """
    from IPython.display import HTML

    gif = base64.b64encode(to_gif_bytes(frames, fps)).decode("ascii")
    height, width = np.shape(frames[0])[:2]
    alt = html.escape(caption or "animation", quote=True)
    img = (
        f'<img src="data:image/gif;base64,{gif}" width="{width}" height="{height}" '
        f'alt="{alt}" style="image-rendering: auto"/>'
    )
    if caption is None:
        return HTML(img)
    text = html.escape(caption)
    return HTML(
        f'<figure style="margin: 0">{img}'
        f'<figcaption style="font-family: monospace; font-size: 0.9em">{text}</figcaption>'
        f"</figure>"
    )


def play(
    env: gym.Env | str,
    policy: Callable[[np.ndarray], Any] | None = None,
    *,
    seed: int | None = 0,
    fps: float = 30,
    path: str | Path | None = None,
    **record_kwargs: Any,
) -> HTML:
    """Record one episode and return it as an animation captioned with how it went.

    Outside a notebook the caption line is also printed.

    Args:
        env: an environment id or an environment with ``render_mode="rgb_array"``.
        policy: observation -> action, in the environment's range; ``None``
            plays randomly.
        seed: the seed of ``reset``.
        fps: frames per second of the animation.
        path: also save the animation there (``.gif`` or ``.mp4``).
        **record_kwargs: passed to :func:`record_episode` (``max_steps``,
            ``frame_skip``, ``max_frames``, ``width``).

    Returns:
        An ``IPython.display.HTML`` animation; the last expression of a cell
        shows it.

    Examples:
        >>> anim = play("CartPole-v1", lambda obs: 0)
        CartPole-v1: return 11.0 in 11 steps (terminated)
    """
    fps = _check_fps(fps)
    if isinstance(env, str):
        name = env
    else:
        spec = getattr(env, "spec", None)
        name = spec.id if spec is not None else type(env.unwrapped).__name__
    episode = record_episode(env, policy, seed=seed, **record_kwargs)
    status = "terminated" if episode.terminated else "truncated"
    line = f"{name}: return {episode.total_reward:.1f} in {episode.n_steps} steps ({status})"
    if not in_notebook():  # in a notebook the line is the animation's caption
        print(line)
    if path is not None:
        save_animation(episode.frames, path, fps)
    return show_animation(episode.frames, fps, caption=line)
