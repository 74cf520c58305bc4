"""Tests of course_lib.animation: recording, frame budgets, GIF output."""

from __future__ import annotations

import base64
import importlib.util
import itertools
import re
from pathlib import Path
from typing import Any

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest
import torch
from gymnasium import spaces
from IPython.display import HTML

from course_lib.animation import (
    Episode,
    play,
    record_episode,
    save_animation,
    show_animation,
    to_gif_bytes,
)
from course_lib.envs import make_env
from course_lib.evaluation import evaluate


class _CounterEnv(gym.Env):
    """Lasts ``length`` steps; frame ``t`` encodes ``t`` in its first two pixels."""

    metadata = {"render_modes": ["rgb_array"]}  # noqa: RUF012 - gymnasium's convention
    observation_space = spaces.Box(0.0, 1e6, (1,), np.float32)
    action_space = spaces.Discrete(1)

    def __init__(self, length: int = 10, render_mode: str | None = None) -> None:
        self.length = length
        self.render_mode = render_mode
        self.t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.t += 1
        return np.full(1, self.t, np.float32), 1.0, self.t >= self.length, False, {}

    def render(self) -> np.ndarray:
        frame = np.zeros((4, 4, 3), np.uint8)
        frame[0, 0, 0], frame[0, 1, 0] = self.t % 256, self.t // 256
        return frame


def _step_of(frame: np.ndarray) -> int:
    return int(frame[0, 0, 0]) + 256 * int(frame[0, 1, 0])


def _frames(n: int, height: int = 8, width: int = 12) -> list[np.ndarray]:
    return [np.full((height, width, 3), 20 * i, dtype=np.uint8) for i in range(n)]


def _push_left(obs: np.ndarray) -> int:
    return 0


def _distinct_runs(frames: list[np.ndarray]) -> int:
    """How many frames a GIF holds: Pillow merges identical consecutive frames
    into one (adding up their durations, so the timing is unchanged)."""
    return 1 + sum(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))


def test_long_random_episode_keeps_at_most_max_frames() -> None:
    episode = record_episode("MountainCarContinuous-v0", None, seed=0)
    assert isinstance(episode, Episode)
    assert episode.n_steps == 999
    assert episode.truncated and not episode.terminated
    assert 100 <= len(episode.frames) <= 150
    assert {f.shape for f in episode.frames} == {(213, 320, 3)}
    assert {f.dtype for f in episode.frames} == {np.dtype(np.uint8)}


def test_short_episode_keeps_every_frame_and_matches_evaluate() -> None:
    episode = record_episode("CartPole-v1", _push_left, seed=0)
    reference = evaluate("CartPole-v1", _push_left, n_episodes=1, seed=0)
    assert episode.n_steps == reference.lengths[0] == 11
    assert episode.total_reward == reference.returns[0] == 11.0
    assert episode.terminated and not episode.truncated
    assert len(episode.frames) == episode.n_steps + 1


@pytest.mark.parametrize(
    ("kwargs", "n_frames"),
    [
        ({"frame_skip": 3}, 5),  # steps 0, 3, 6, 9 and the last (11)
        ({"frame_skip": 1}, 12),
        ({"max_frames": 4}, 4),
        ({"max_frames": 2}, 2),
    ],
)
def test_frame_budget_keeps_first_and_last(kwargs: dict[str, Any], n_frames: int) -> None:
    full = record_episode("CartPole-v1", _push_left, seed=0)
    thinned = record_episode("CartPole-v1", _push_left, seed=0, **kwargs)
    assert len(thinned.frames) == n_frames
    np.testing.assert_array_equal(thinned.frames[0], full.frames[0])
    np.testing.assert_array_equal(thinned.frames[-1], full.frames[-1])


@pytest.mark.parametrize("length", [1, 2, 148, 149, 150, 151, 299, 300, 301, 999, 1000])
def test_automatic_frame_skip_is_even_and_bounded(length: int) -> None:
    env = _CounterEnv(length, render_mode="rgb_array")
    episode = record_episode(env, None, max_frames=150)
    steps = [_step_of(f) for f in episode.frames]
    assert len(steps) <= 150
    assert steps[0] == 0 and steps[-1] == length
    gaps = {b - a for a, b in itertools.pairwise(steps[:-1])}
    assert len(gaps) <= 1  # evenly spaced, apart from the appended last frame
    stride = gaps.pop() if gaps else 1
    assert stride & (stride - 1) == 0  # a power of two
    assert steps[-1] - steps[-2] <= stride
    if length + 1 > 150:
        assert len(steps) >= 75  # never thinned more than needed
    else:
        assert steps == list(range(length + 1))


def test_max_steps_cuts_and_counts_as_truncated() -> None:
    episode = record_episode("CartPole-v1", None, seed=1, max_steps=5)
    assert episode.n_steps == 5
    assert episode.truncated and not episode.terminated
    assert len(episode.frames) == 6


@pytest.mark.parametrize(("width", "shape"), [(100, (67, 100, 3)), (1000, (400, 600, 3))])
def test_width_downscales_but_never_upscales(width: int, shape: tuple[int, ...]) -> None:
    episode = record_episode("CartPole-v1", None, seed=0, max_steps=2, width=width)
    assert episode.frames[0].shape == shape


def test_random_policy_is_reproducible_with_a_seeded_env() -> None:
    rewards = []
    for _ in range(2):
        env = make_env("Pendulum-v1", seed=4, render_mode="rgb_array")
        rewards.append(record_episode(env, None, seed=4, max_steps=20).total_reward)
    assert rewards[0] == rewards[1]


def test_random_play_from_an_id_is_reproducible() -> None:
    first = record_episode("CartPole-v1", None, seed=5)
    second = record_episode("CartPole-v1", None, seed=5)
    assert first.n_steps == second.n_steps
    assert len(first.frames) == len(second.frames)
    for a, b in zip(first.frames, second.frames, strict=True):
        np.testing.assert_array_equal(a, b)


def test_given_env_is_left_open_and_tensor_policy_works() -> None:
    env = make_env("Pendulum-v1", render_mode="rgb_array")
    episode = record_episode(env, lambda obs: torch.tensor([0.0]), seed=0, max_steps=3)
    assert episode.n_steps == 3
    assert episode.total_reward < 0  # Pendulum rewards are never positive
    env.reset(seed=0)  # still usable


def test_env_without_rgb_array_is_rejected() -> None:
    with pytest.raises(ValueError, match=r'make_env\(env_id, render_mode="rgb_array"\)'):
        record_episode(make_env("CartPole-v1"), None)


def test_bad_action_is_reported() -> None:
    with pytest.raises(ValueError, match=r"step 0: .*outside the bounds"):
        record_episode("Pendulum-v1", lambda obs: np.array([9.0]), max_steps=2)


def test_gif_bytes_round_trip() -> None:
    frames = _frames(5)
    data = to_gif_bytes(frames, fps=10)
    assert data.startswith(b"GIF8")
    back = iio.imread(data, index=None, extension=".gif")
    assert back.shape[0] == 5
    assert back.shape[1:3] == (8, 12)


def test_save_animation_gif_reads_back(tmp_path: Path) -> None:
    episode = record_episode("CartPole-v1", _push_left, seed=0)
    path = save_animation(episode.frames, tmp_path / "out" / "cartpole.gif", fps=20)
    assert path == tmp_path / "out" / "cartpole.gif"
    back = iio.imread(path, index=None)
    # The first CartPole steps move the cart by less than a pixel: 2 repeated frames.
    assert _distinct_runs(episode.frames) == len(episode.frames) - 2 == 10
    assert back.shape[:3] == (10, 213, 320)
    np.testing.assert_array_equal(back[-1], episode.frames[-1])


def test_save_animation_mp4_without_ffmpeg_says_what_to_install(tmp_path: Path) -> None:
    if importlib.util.find_spec("imageio_ffmpeg") is not None:
        pytest.skip("imageio-ffmpeg is installed here")
    path = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError, match="pip install imageio-ffmpeg"):
        save_animation(_frames(3, 16, 16), path)
    assert not path.exists()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: save_animation(_frames(2), p / "clip.avi"), r"\.gif file name"),
        (lambda p: to_gif_bytes(_frames(2), fps=60), "fps must be a number in"),
        (lambda p: to_gif_bytes([]), "frames is empty"),
        (lambda p: to_gif_bytes([np.zeros((4, 4), np.uint8)]), r"\(H, W, 3\)"),
        (lambda p: to_gif_bytes([*_frames(1), *_frames(1, 9, 12)]), "same shape"),
        (lambda p: record_episode("CartPole-v1", max_frames=1), "max_frames must be >= 2"),
    ],
)
def test_bad_arguments_raise(tmp_path: Path, call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(tmp_path)


def test_show_animation_embeds_the_gif_and_escapes_the_caption() -> None:
    frames = _frames(3)
    out = show_animation(frames, fps=10, caption="return <b>5</b>")
    assert isinstance(out, HTML)
    match = re.search(r'src="data:image/gif;base64,([A-Za-z0-9+/=]+)"', out.data)
    assert match is not None
    assert base64.b64decode(match.group(1)) == to_gif_bytes(frames, fps=10)
    assert "return &lt;b&gt;5&lt;/b&gt;" in out.data
    assert "<figcaption" not in show_animation(frames).data


def test_play_prints_saves_and_returns_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "play.gif"
    out = play("CartPole-v1", _push_left, seed=0, fps=20, path=path)
    assert capsys.readouterr().out == "CartPole-v1: return 11.0 in 11 steps (terminated)\n"
    assert isinstance(out, HTML)
    assert "data:image/gif;base64," in out.data
    assert "CartPole-v1: return 11.0 in 11 steps (terminated)" in out.data
    assert iio.imread(path, index=None).shape[0] == 10  # 12 frames, 2 repeats merged


def test_play_random_with_env_object(capsys: pytest.CaptureFixture[str]) -> None:
    env = make_env("CartPole-v1", render_mode="rgb_array")
    out = play(env, seed=3, max_steps=4)
    assert capsys.readouterr().out == "CartPole-v1: return 4.0 in 4 steps (truncated)\n"
    assert "data:image/gif;base64," in out.data
