"""Judging exported programs in one separate process per submission (``run_jobs``)."""

from __future__ import annotations

import sys
import textwrap

import pytest

from course_lib.instructor.grading.programs import judge_network, run_job, run_jobs

# A stand-in child speaking the protocol: {"jobs": [...]} in, one JSON line per job out.
# Its jobs say what to do: answer, crash the process, hang, or print junk first.
FAKE_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    jobs = json.load(sys.stdin)["jobs"]
    for job in jobs:
        if job["do"] == "crash":
            print("boom: the process died", file=sys.stderr, flush=True)
            os._exit(3)
        if job["do"] == "hang":
            time.sleep(60)
        if job["do"] == "junk":
            print("half a li", flush=True)
            continue
        print(json.dumps({"fraction": 1.0, "message": "ok " + job["name"]}), flush=True)
    """
)


def _fake(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(FAKE_CHILD)
    return [sys.executable, str(script)]


def _job(name, do="answer"):
    return {"name": name, "do": do}


def test_all_jobs_answer_in_order_from_one_process(tmp_path):
    jobs = [_job("a"), _job("b"), _job("c")]
    results = run_jobs(jobs, command=_fake(tmp_path))
    assert [r["message"] for r in results] == ["ok a", "ok b", "ok c"]


def test_a_job_that_kills_its_process_costs_only_itself(tmp_path):
    jobs = [_job("a"), _job("b", "crash"), _job("c"), _job("d", "crash"), _job("e")]
    results = run_jobs(jobs, command=_fake(tmp_path))
    messages = [r["message"] for r in results]
    assert messages[0] == "ok a" and messages[2] == "ok c" and messages[4] == "ok e"
    for index in (1, 3):
        assert results[index]["fraction"] == 0.0
        assert messages[index].startswith("the exported program could not be judged: ")
        assert "boom: the process died" in messages[index]


def test_a_line_that_is_not_a_result_costs_only_its_job(tmp_path):
    results = run_jobs([_job("a"), _job("b", "junk"), _job("c")], command=_fake(tmp_path))
    assert [r["message"] for r in results][::2] == ["ok a", "ok c"]
    assert results[1]["fraction"] == 0.0
    assert results[1]["message"].startswith("the exported program could not be judged")


def test_a_job_that_hangs_times_out_and_the_next_one_still_runs(tmp_path):
    jobs = [_job("a", "hang"), _job("b")]
    results = run_jobs(jobs, timeout_s=1.0, command=_fake(tmp_path))
    assert results == [
        {"fraction": 0.0, "message": "judging the exported program timed out"},
        {"fraction": 1.0, "message": "ok b"},
    ]


def test_the_real_child_gives_what_each_job_gives_alone():
    jobs = [
        {"type": "network", "kind": "critic", "data": {"program": None}, "seed": 0},
        {
            "type": "network",
            "kind": "td3_actor",
            "data": {"program": None, "error": "E"},
            "seed": 0,
        },
        {"type": "teleport", "seed": 0},
        {"type": "network", "kind": "actor", "data": {"program": "not base64!"}, "seed": 0},
    ]
    results = run_jobs(jobs)
    assert results == [run_job(job) for job in jobs]
    assert results[0] == judge_network("critic", {"program": None}, 0)
    assert results[2] == {"fraction": 0.0, "message": "unknown job type 'teleport'"}
    assert results[3]["fraction"] == 0.0 and "bad base64 data" in results[3]["message"]


@pytest.mark.parametrize("jobs", [[]])
def test_no_jobs_start_no_process(jobs):
    assert run_jobs(jobs, command=["/nonexistent/child"]) == []


def _lean_cartpole_policy():
    import torch
    from torch import nn

    class Lean(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 2)
            with torch.no_grad():
                self.layer.weight.copy_(torch.tensor([[0, 0, -1, -0.5], [0, 0, 1, 0.5]]))
                self.layer.bias.zero_()

        def forward(self, obs):
            return torch.distributions.Categorical(logits=self.layer(obs))

    return Lean()


def test_the_grader_plays_all_episodes_side_by_side_with_the_same_returns():
    import base64

    from course_lib.evaluation import evaluate
    from course_lib.handoff import load_policy, policy_to_data
    from course_lib.instructor.grading.programs import judge_policy

    data = policy_to_data(_lean_cartpole_policy(), "CartPole-v1")
    verdict = judge_policy(data, "CartPole-v1", 475.0, 20, 7)
    act, _ = load_policy(base64.b64decode(data["program"]))
    one_by_one = evaluate("CartPole-v1", act, n_episodes=20, seed=7)
    assert verdict["returns"] == one_by_one.returns.tolist()
    assert verdict["message"] == "mean return 500.0 over 20 grader episodes (>= 475)"


def test_a_program_vmap_cannot_map_is_played_one_episode_at_a_time(monkeypatch):
    from course_lib.handoff import policy_to_data
    from course_lib.instructor.grading import programs

    data = policy_to_data(_lean_cartpole_policy(), "CartPole-v1")
    expected = programs.judge_policy(data, "CartPole-v1", 475.0, 5, 0)

    def refuse(module):
        def act(obs):
            raise RuntimeError("vmap: no batching rule")

        return act

    monkeypatch.setattr(programs, "_mapped_policy", refuse)
    assert programs.judge_policy(data, "CartPole-v1", 475.0, 5, 0) == expected


def test_a_judge_started_early_is_used_and_then_ended(tmp_path):
    from course_lib.instructor.grading.programs import start_judge

    started = start_judge(_fake(tmp_path))
    results = run_jobs([_job("a"), _job("b")], command=["/nonexistent/child"], started=started)
    assert [r["message"] for r in results] == ["ok a", "ok b"]
    assert started.poll() is not None
    unused = start_judge(_fake(tmp_path))
    assert run_jobs([], started=unused) == []
    assert unused.poll() is not None  # nothing to judge: ended, not left running
