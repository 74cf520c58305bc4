"""The policy hand-off: every kind of actor leaves as a deterministic program in env units."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.handoff import export_policy, load_policy


class TwoHeaded(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Linear(4, 8)
        self.policy = nn.Linear(8, 2)
        self.value = nn.Linear(8, 1)

    def forward(self, obs):
        h = torch.relu(self.trunk(obs))
        return torch.softmax(self.policy(h), dim=-1), self.value(h)


class CategoricalActor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4, 2)

    def forward(self, obs):
        return torch.distributions.Categorical(logits=self.net(obs))


class GaussianActor(nn.Module):
    def __init__(self):
        super().__init__()
        self.mu = nn.Linear(3, 1)

    def forward(self, obs):
        mean = torch.tanh(self.mu(obs))
        dist = torch.distributions.Normal(mean, 0.5 * torch.ones_like(mean))
        return dist.sample(), dist


class TanhActor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(3, 1)

    def forward(self, obs):
        return torch.tanh(self.net(obs))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _obs(n, dim):
    return np.random.default_rng(0).normal(size=(n, dim)).astype(np.float32)


@pytest.mark.parametrize(
    ("actor_cls", "kind"), [(TwoHeaded, "two_headed"), (CategoricalActor, "categorical")]
)
def test_discrete_actors_become_greedy_int_policies(tmp_path, actor_cls, kind):
    actor = actor_cls()
    act, meta = load_policy(export_policy(actor, "CartPole-v1", tmp_path / "p.pt2"))
    assert meta == {"env_id": "CartPole-v1", "kind": kind, "obs_shape": [4]}
    for obs in _obs(20, 4):
        out = actor(torch.as_tensor(obs[None]))
        probs = out[0] if kind == "two_headed" else out.probs
        assert act(obs) == int(probs.argmax()) and isinstance(act(obs), int)


def test_gaussian_actor_acts_with_its_rescaled_mean(tmp_path):
    actor = GaussianActor()
    act, meta = load_policy(export_policy(actor, "Pendulum-v1", tmp_path / "p.pt2"))
    assert meta["kind"] == "gaussian"
    for obs in _obs(10, 3):
        mean = torch.tanh(actor.mu(torch.as_tensor(obs[None])))[0].detach().numpy()
        np.testing.assert_allclose(act(obs), 2.0 * mean, rtol=1e-5, atol=1e-6)  # [-1,1] -> [-2,2]
        np.testing.assert_array_equal(act(obs), act(obs))  # no sampling left


@pytest.mark.parametrize(("scale", "factor"), [("normalized", 2.0), ("env", 1.0)])
def test_deterministic_actor_rescaling(tmp_path, scale, factor):
    actor = TanhActor()
    act, _ = load_policy(
        export_policy(actor, "Pendulum-v1", tmp_path / "p.pt2", action_scale=scale)
    )
    obs = _obs(1, 3)[0]
    expected = factor * actor(torch.as_tensor(obs[None]))[0].detach().numpy()
    np.testing.assert_allclose(act(obs), expected, rtol=1e-5, atol=1e-6)
    assert act(obs).dtype == np.float32 and act(obs).shape == (1,)


def test_export_keeps_the_training_mode(tmp_path):
    actor = TwoHeaded().train()
    export_policy(actor, "CartPole-v1", tmp_path / "p.pt2")
    assert actor.training


def test_not_a_module_is_refused(tmp_path):
    with pytest.raises(TypeError, match=r"trained_policy must be a torch.nn.Module"):
        export_policy(lambda obs: 0, "CartPole-v1", tmp_path / "p.pt2")


def test_unknown_output_is_refused(tmp_path):
    class Weird(nn.Module):
        def forward(self, obs):
            return {"a": obs}

    with pytest.raises(TypeError, match=r"cannot tell what kind of actor this is"):
        export_policy(Weird(), "CartPole-v1", tmp_path / "p.pt2")


def test_policy_to_data_round_trips(tmp_path):
    import base64

    from course_lib.handoff import policy_to_data

    actor = TwoHeaded()
    data = policy_to_data(actor, "CartPole-v1")
    assert data["meta"]["kind"] == "two_headed"
    act, meta = load_policy(base64.b64decode(data["program"]))
    assert meta == data["meta"]
    obs = _obs(1, 4)[0]
    assert act(obs) == int(actor(torch.as_tensor(obs[None]))[0].argmax())


def test_policy_to_data_records_the_notebooks_criterion_for_the_grader():
    from course_lib.handoff import policy_to_data

    data = policy_to_data(TwoHeaded(), "CartPole-v1", pass_mark=475.0, episodes=20)
    assert data["criterion"] == {"env_id": "CartPole-v1", "threshold": 475.0, "episodes": 20}
    assert "criterion" not in policy_to_data(TwoHeaded(), "CartPole-v1")


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"pass_mark": 475.0}, "give both pass_mark and episodes"),
        ({"episodes": 20}, "give both pass_mark and episodes"),
        ({"pass_mark": 475.0, "episodes": 0}, "whole number >= 1"),
        ({"pass_mark": 475.0, "episodes": 2.5}, "whole number >= 1"),
    ],
)
def test_policy_to_data_refuses_half_a_criterion(kwargs, why):
    from course_lib.handoff import policy_to_data

    with pytest.raises(ValueError, match=why):
        policy_to_data(TwoHeaded(), "CartPole-v1", **kwargs)
