"""Adam with a light step for the small networks of the course.

``torch.optim.Adam(fused=True)`` runs one fused kernel per step, but on a CPU its Python
side (gathering the parameters, checking the options, building the state) costs about
three times the kernel for a 64x64 network: ~180 µs of a ~3 ms DDPG update on a slow core.
:class:`Adam` is the same optimizer with that bookkeeping done once: it calls the same
fused kernel with the same state, so its updates equal ``torch.optim.Adam(fused=True)``'s
bit for bit (``tests/test_optim.py`` checks it), and its ``state_dict`` loads into either.

The fused kernel (``torch._fused_adam_``) is private to torch, and ``torch.optim.Adam(fused=True)``
needs it too. Where a torch build lacks it, :class:`Adam` is ``torch.optim.Adam(foreach=True)``:
the same algorithm (its updates may differ in the last bits), without the lighter bookkeeping.

    >>> import torch
    >>> net = torch.nn.Linear(3, 1)
    >>> optimizer = Adam(net.parameters(), lr=1e-3)
    >>> net(torch.ones(1, 3)).sum().backward()
    >>> optimizer.step()
    >>> int(optimizer.state[net.weight]["step"])
    1
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import optimizer as _optimizer

__all__ = ["Adam"]

# The private kernels the light step calls; None where this torch build does not have them.
_fused_adam = getattr(torch, "_fused_adam_", None)
_foreach_add = getattr(torch, "_foreach_add_", None)


def _has_kernel() -> bool:
    """Whether this torch build has the private kernels the light step calls."""
    return _fused_adam is not None and _foreach_add is not None


# torch.optim.Adam's own step, without the hook-running wrapper torch.optim may have put around
# it (this class runs the hooks itself) and without its grad-mode decorator (the step runs
# under torch.no_grad, which is what that decorator sets for a non-differentiable Adam).
_torch_adam_step = inspect.unwrap(torch.optim.Adam.step)


class Adam(torch.optim.Adam):
    """``torch.optim.Adam(fused=True)`` with a lighter ``step`` (same updates, bit for bit).

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr, betas, eps, weight_decay, maximize: as in ``torch.optim.Adam``.

    Raises:
        ValueError: for options the fused kernel does not take here (``amsgrad``, a tensor
            ``lr``); use ``torch.optim.Adam`` for those.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        if isinstance(lr, torch.Tensor):
            raise ValueError(
                "course_lib.optim.Adam takes a float lr; for a tensor lr use torch.optim.Adam"
            )
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            **({"fused": True} if _has_kernel() else {"foreach": True}),
        )
        self._light = _has_kernel()
        self._lists: list[tuple[list, list, list, list]] | None = None

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._lists = None  # the state tensors were replaced

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if param_group.get("amsgrad", False):
            raise ValueError(
                "course_lib.optim.Adam does not do amsgrad; use torch.optim.Adam(amsgrad=True)"
            )
        super().add_param_group(param_group)
        self._lists = None

    def _group_lists(self) -> list[tuple[list, list, list, list]]:
        """Per group: the parameters and their exp_avg, exp_avg_sq and step tensors."""
        lists = []
        for group in self.param_groups:
            params, exp_avgs, exp_avg_sqs, steps = [], [], [], []
            for p in group["params"]:
                state = self.state[p]
                if not state:
                    if p.grad is not None and p.grad.is_sparse:
                        raise RuntimeError("Adam does not support sparse gradients")
                    # the layout torch.optim.Adam(fused=True) uses, so state_dicts swap
                    state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                params.append(p)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                steps.append(state["step"])
            lists.append((params, exp_avgs, exp_avg_sqs, steps))
        return lists

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One Adam step on every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        hooks = (
            getattr(_optimizer, "_global_optimizer_pre_hooks", {}),
            self._optimizer_step_pre_hooks,
            self._optimizer_step_post_hooks,
            getattr(_optimizer, "_global_optimizer_post_hooks", {}),
        )
        args = (self,) if closure is None else (self, closure)
        if any(hooks):  # registered step hooks run as torch.optim's wrapper runs them
            for pre_hook in (*hooks[0].values(), *hooks[1].values()):
                if pre_hook(self, args, {}) is not None:
                    raise RuntimeError(
                        "course_lib.optim.Adam: a step pre-hook may not change the step's "
                        "arguments; use torch.optim.Adam for that"
                    )
        with torch.no_grad():
            self._step()
        if any(hooks):
            for post_hook in (*hooks[2].values(), *hooks[3].values()):
                post_hook(self, args, {})
        return loss

    # torch.optim wraps every optimizer's step in a profiler record and hook runner, which
    # costs as much as the fused kernel on a small network; this step runs the hooks itself
    step.hooked = True  # type: ignore[attr-defined]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop (or zero) every gradient; torch.optim's version adds ~10 µs of wrapping."""
        if not set_to_none:
            super().zero_grad(set_to_none=False)
            return
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def _step(self) -> None:
        if not self._light:
            _torch_adam_step(self)  # torch.optim.Adam(foreach=True)'s own step
            return
        if self._lists is None:
            self._lists = self._group_lists()
        for group, (params, exp_avgs, exp_avg_sqs, steps) in zip(
            self.param_groups, self._lists, strict=True
        ):
            grads = [p.grad for p in params]
            if any(g is None for g in grads):  # only the parameters that have a gradient
                keep = [i for i, g in enumerate(grads) if g is not None]
                if not keep:
                    continue
                params = [params[i] for i in keep]
                exp_avgs = [exp_avgs[i] for i in keep]
                exp_avg_sqs = [exp_avg_sqs[i] for i in keep]
                steps = [steps[i] for i in keep]
                grads = [grads[i] for i in keep]
            if isinstance(group["lr"], torch.Tensor):
                raise ValueError(
                    "course_lib.optim.Adam takes a float lr; for a tensor lr use torch.optim.Adam"
                )
            beta1, beta2 = group["betas"]
            _foreach_add(steps, 1.0)
            _fused_adam(
                params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                [],
                steps,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                amsgrad=False,
                maximize=group["maximize"],
            )
