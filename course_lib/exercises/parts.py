"""Each question judged on its own code: the course's parts stand in for the student's
earlier answers while a later exercise is run.

Notebook 04's agent calls the student's ``soft_update`` and builds the student's
``ReplayBuffer``, ``OUNoise`` and networks; notebook 03's and 05's agents build the student's
networks, and 03's ``update_model`` calls the student's ``compute_gae``, ``ppo_iter`` and
``ppo_losses``. Run as written, one bug there would cost its own question and the agent's as well.
So while a visible check or a probe runs an agent, the names it calls are bound, in the
student's own namespace, to the course's parts (:data:`Parts`, declared by the exercise
that calls them), and put back afterwards, whatever happens. Each bug then costs its question
once. The reward questions stay end to end: they train with everything the student wrote.

A student whose agent reaches an earlier answer some other way (a method of its own, an
alias) is run as written.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch

__all__ = ["Parts", "PlaceholderNetwork", "course_parts", "namespaces"]

Parts = Mapping[str, Any]
"""``{name the notebook gives the earlier answer: the course's part}``."""

_MISSING = object()


class PlaceholderNetwork(torch.nn.Module):
    """Stands in for a network class while an agent is built (any arguments); the exercise
    replaces the built network with one whose outputs it knows before running anything."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)

    def forward(self, *inputs: Any) -> torch.Tensor:
        raise RuntimeError(
            "the network that stands in while the agent is built was called: the exercise "
            "replaces it with a known one before running the agent"
        )


def _functions(obj: Any) -> Iterator[Callable[..., Any]]:
    """The plain functions ``obj`` is made of: itself, or a class's methods (its bases'
    too, the package's and the standard library's aside)."""
    if isinstance(obj, types.FunctionType):
        yield obj
        return
    if not inspect.isclass(obj):
        return
    for klass in inspect.getmro(obj):
        if klass is object or klass.__module__.split(".")[0] in ("course_lib", "builtins"):
            continue
        for value in vars(klass).values():
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            elif isinstance(value, property):
                value = value.fget
            if callable(value):
                value = inspect.unwrap(value)  # through @torch.no_grad() and the like
            if isinstance(value, types.FunctionType):
                yield value


def namespaces(obj: Any) -> list[dict[str, Any]]:
    """The global namespaces ``obj``'s functions read their names from (in a notebook, the
    kernel's: one dict), each once: those that hold ``obj``, or a base class defined beside
    it, under its own name; the package's and the libraries' (a decorator's, ``nn.Module``'s)
    are left out."""
    home = getattr(obj, "__module__", None)
    bases = inspect.getmro(obj) if inspect.isclass(obj) else ()
    own = [obj, *(k for k in bases if k.__module__ == home)]
    found: dict[int, dict[str, Any]] = {}
    for fn in _functions(obj):
        space = fn.__globals__
        if str(space.get("__name__", "")).split(".")[0] == "course_lib":
            continue
        if any(space.get(getattr(o, "__name__", "")) is o for o in own):
            found.setdefault(id(space), space)
    return list(found.values())


@contextmanager
def course_parts(student: Any, parts: Parts) -> Iterator[None]:
    """While inside, the names of ``parts`` hold the course's parts in every namespace
    ``student`` reads; afterwards each holds what it held before (or is gone again).

    Examples:
        >>> space = {"soft_update": "the student's"}
        >>> exec("def update():\\n    return soft_update", space)
        >>> with course_parts(space["update"], {"soft_update": "the course's"}):
        ...     space["update"]()
        "the course's"
        >>> space["update"]()
        "the student's"
    """
    saved: list[tuple[dict[str, Any], str, Any]] = []
    try:
        for space in namespaces(student):
            for name, part in parts.items():
                saved.append((space, name, space.get(name, _MISSING)))
                space[name] = part
        yield
    finally:
        for space, name, old in reversed(saved):
            if old is _MISSING:
                space.pop(name, None)
            else:
                space[name] = old
