"""course_lib: the scaffolding behind the actor-critic course notebooks.

Notebooks use it as ``import course_lib as cl`` and call ``cl.make_env``,
``cl.evaluate``, ``cl.LivePlot``, ``cl.play``... Names are imported on first
use, so ``import course_lib`` stays quick and pulls in torch or matplotlib
only when a helper that needs them is called.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "budget": "config",
    "is_fast": "config",
    "make_env": "envs",
    "make_vec_env": "envs",
    "seed_everything": "envs",
    "random_state": "envs",
    "evaluate": "evaluation",
    "EvalResult": "evaluation",
    "CriterionTracker": "stop_rule",
    "progress": "progress",
    "LivePlot": "plotting",
    "plot_curves": "plotting",
    "moving_average": "plotting",
    "record_episode": "animation",
    "show_animation": "animation",
    "save_animation": "animation",
    "play": "animation",
    "observe": "observations",
    "grader_seed": "observations",
    "export_policy": "handoff",
    "policy_to_data": "handoff",
    "load_policy": "handoff",
    "CheckFailed": "checks",
    "ReplayBuffer": "buffers",
    "OUNoise": "noise",
    "GaussianNoise": "noise",
    "Adam": "optim",
    "full_tracebacks": "tracebacks",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"course_lib.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
