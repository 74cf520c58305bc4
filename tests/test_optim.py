"""course_lib.optim.Adam: the same updates as torch.optim.Adam(fused=True), bit for bit."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from course_lib import optim
from course_lib.optim import Adam


@pytest.fixture(params=["private kernel", "without the private kernel"])
def kernel(request, monkeypatch):
    """Every test runs twice: with torch's private fused kernel, and as on a torch build
    that lacks it (torch's own fused Adam then cannot run either; course_lib's Adam is
    torch.optim.Adam(foreach=True)). Returns what torch.optim.Adam to compare with."""
    if request.param == "without the private kernel":
        monkeypatch.setattr(optim, "_fused_adam", None)
        monkeypatch.delattr(torch, "_fused_adam_")
        return {"foreach": True}
    return {"fused": True}


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 2),
    )


def _train(
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    steps: int,
    *,
    frozen_until: int = 0,
    schedule: bool = False,
) -> None:
    """`steps` updates on a fixed regression; the last layer gets no gradient before
    `frozen_until`; with `schedule`, the lr halves every 5 steps."""
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 5, 0.5) if schedule else None
    gen = torch.Generator().manual_seed(1)
    last = net[-1]
    for i in range(steps):
        last.requires_grad_(i >= frozen_until)
        x = torch.randn(32, 4, generator=gen)
        loss = (net(x) - x[:, :2]).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 1e-3},
        {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01},
        {"lr": 1e-3, "maximize": True},
    ],
)
@pytest.mark.parametrize("frozen_until", [0, 7])
@pytest.mark.parametrize("schedule", [False, True])
def test_updates_equal_torch_fused_adam_bit_for_bit(kwargs, frozen_until, schedule, kernel):
    ours, theirs = _net(), _net()
    _train(
        ours, Adam(ours.parameters(), **kwargs), 25, frozen_until=frozen_until, schedule=schedule
    )
    _train(
        theirs,
        torch.optim.Adam(theirs.parameters(), **kernel, **kwargs),
        25,
        frozen_until=frozen_until,
        schedule=schedule,
    )
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)


def test_parameter_groups_keep_their_own_lr(kernel):
    ours, theirs = _net(), _net()

    def groups(net):
        return [
            {"params": net[0].parameters(), "lr": 1e-2},
            {"params": list(net[2].parameters()) + list(net[4].parameters())},
        ]

    _train(ours, Adam(groups(ours), lr=1e-3), 10)
    _train(theirs, torch.optim.Adam(groups(theirs), lr=1e-3, **kernel), 10)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)


def test_state_dict_goes_both_ways_with_torch_adam(kernel):
    """Training half with one class and half with the other equals training with one."""
    net = _net()
    optimizer = Adam(net.parameters(), lr=1e-3)
    _train(net, optimizer, 10)
    twin = copy.deepcopy(net)
    theirs = torch.optim.Adam(twin.parameters(), lr=1e-3, **kernel)
    # a deep copy: a loaded optimizer may share the saved step tensors
    theirs.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    _train(net, optimizer, 10)
    _train(twin, theirs, 10)
    for a, b in zip(net.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)

    _train(twin, theirs, 5)  # now theirs is ahead
    # ours has stepped (its state lists are built); a reload must replace them
    optimizer.load_state_dict(copy.deepcopy(theirs.state_dict()))
    net.load_state_dict(twin.state_dict())
    _train(net, optimizer, 5)
    _train(twin, theirs, 5)
    for a, b in zip(net.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_step_without_any_gradient_changes_nothing(kernel):
    net = _net()
    before = [p.clone() for p in net.parameters()]
    Adam(net.parameters()).step()
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), before, strict=True))


def test_unsupported_options_name_the_fix():
    net = _net()
    with pytest.raises(ValueError, match=r"use torch\.optim\.Adam"):
        Adam(net.parameters(), lr=torch.tensor(1e-3))
    with pytest.raises(ValueError, match=r"torch.optim.Adam\(amsgrad=True\)"):
        Adam([{"params": net.parameters(), "amsgrad": True}])


def test_step_hooks_still_run(kernel):
    """Pre and post step hooks, the optimizer's own and global ones, run around the step."""
    net = _net()
    optimizer = Adam(net.parameters())
    calls = []
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: calls.append("pre"))
    optimizer.register_step_post_hook(lambda opt, args, kwargs: calls.append("post"))
    handle = register_optimizer_step_post_hook(
        lambda opt, args, kwargs: calls.append(
            ("global post", int(opt.state[net[0].weight]["step"]))
        )
    )
    try:
        net(torch.ones(1, 4)).sum().backward()
        optimizer.step()
    finally:
        handle.remove()
    assert calls == ["pre", "post", ("global post", 1)]


def test_zero_grad_drops_or_zeroes_the_gradients():
    net = _net()
    optimizer = Adam(net.parameters())
    net(torch.ones(1, 4)).sum().backward()
    optimizer.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())
    optimizer.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_the_fallback_runs_torch_adams_step(monkeypatch):
    """Without the private kernel the step is torch.optim.Adam's foreach one."""
    monkeypatch.setattr(optim, "_fused_adam", None)
    monkeypatch.delattr(torch, "_fused_adam_")
    calls = []
    original = optim._torch_adam_step
    monkeypatch.setattr(optim, "_torch_adam_step", lambda opt: calls.append(opt) or original(opt))
    net = _net()
    optimizer = Adam(net.parameters())
    net(torch.ones(1, 4)).sum().backward()
    optimizer.step()
    assert calls == [optimizer]
    assert optimizer.param_groups[0]["foreach"] and not optimizer.param_groups[0]["fused"]
    assert optimizer._lists is None  # the light step's state lists were never built
