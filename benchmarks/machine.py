"""How fast this machine is at what the reference agents spend their time on.

Seconds measured on one machine do not carry over to another: notebook 03's reference
has trained at ~3.9k env steps/s on one 2-core machine and at ~1k on another. Each
benchmark prints these two figures next to its seconds, so results from different
machines can be compared:

- ``update_us``: one Adam step of a 3-64-64-1 tanh MLP on a batch of 128 (forward,
  backward, step), one torch thread;
- ``env_step_us``: one ``Pendulum-v1`` step through ``gymnasium.make``'s wrappers.

    python benchmarks/machine.py
"""

from __future__ import annotations

import time

__all__ = ["machine_speed"]


def machine_speed(repeats: int = 2_000) -> dict[str, float]:
    """Warm timings of the two unit costs, in microseconds (means over `repeats`)."""
    import gymnasium as gym
    import torch
    from torch import nn

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        net = nn.Sequential(
            nn.Linear(3, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1)
        )
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        x = torch.randn(128, 3)

        def update() -> None:
            loss = net(x).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        for _ in range(100):
            update()
        start = time.perf_counter()
        for _ in range(repeats):
            update()
        update_us = (time.perf_counter() - start) / repeats * 1e6
    finally:
        torch.set_num_threads(threads)

    env = gym.make("Pendulum-v1")
    env.reset(seed=0)
    action = env.action_space.sample()
    start = time.perf_counter()
    for _ in range(repeats * 5):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    env_step_us = (time.perf_counter() - start) / (repeats * 5) * 1e6
    env.close()
    return {"update_us": round(update_us, 1), "env_step_us": round(env_step_us, 1)}


def describe(speed: dict[str, float]) -> str:
    """One line for a results file."""
    return (
        f"machine speed: {speed['update_us']:.0f} µs per small-MLP Adam update, "
        f"{speed['env_step_us']:.0f} µs per Pendulum step (`python benchmarks/machine.py`)"
    )


if __name__ == "__main__":
    print(describe(machine_speed()))
