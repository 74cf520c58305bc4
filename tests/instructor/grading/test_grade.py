"""The grader end to end on notebook 00: a corpus of correct, buggy, tampered, hostile and
malformed submissions built from the instructor notebook."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_lib.instructor.grading.grade import discover, grade_batch, grade_one
from course_lib.instructor.grading.gradebook import Gradebook
from course_lib.instructor.grading.sample import fill
from tests.instructor.grading.tour_corpus import SOLUTIONS, TOUR
from tests.instructor.grading.tour_corpus import cell as _cell
from tests.instructor.grading.tour_corpus import scores as _scores
from tests.instructor.grading.tour_corpus import write as _write

pytestmark = pytest.mark.notebook


def test_correct_submission_gets_full_marks(settings, tmp_path):
    rec = grade_one("s", TOUR, _write(tmp_path, fill(SOLUTIONS / f"{TOUR}.ipynb")), settings)
    assert rec.status == "graded" and rec.sandboxed
    assert _scores(rec) == {"test_run_episode": 2.0, "test_td_target": 1.0}
    assert rec.tampering == []
    assert all(t.status == "passed" for t in rec.tests)


def test_cells_marked_not_needed_for_grading_are_not_executed(settings, tmp_path):
    # A copy of notebook 00 whose marked animation cell would fail if it ran.
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    source = nbformat.read(SOLUTIONS / f"{TOUR}.ipynb", as_version=4)
    _cell(source, "tour_play").source = "raise RuntimeError('the marked cell ran')"
    nbformat.write(source, solutions / f"{TOUR}.ipynb")
    settings = dataclasses.replace(settings, solutions=solutions, cache_dir=tmp_path / "cache")
    rec = grade_one("s", TOUR, _write(tmp_path, fill(SOLUTIONS / f"{TOUR}.ipynb")), settings)
    assert _scores(rec) == {"test_run_episode": 2.0, "test_td_target": 1.0}
    assert rec.details["counts"]["omitted"] == 5 and rec.details["counts"]["error"] == 0
    # (the submission holds the released tour_play, which this copy of the source changed)
    assert [(g, k) for g, k, _ in rec.tampering] == [("tour_play", "edited")]
    # The student's own cell reads `lean_policy` from a marked cell: that one runs after all,
    # and so does the marked cell whose `env` it reads in turn.
    nb = fill(SOLUTIONS / f"{TOUR}.ipynb")
    position = nb.cells.index(_cell(nb, "tour_play")) + 1
    nb.cells.insert(position, nbformat.v4.new_code_cell("print(lean_policy([0, 0, 0.1, 0]))"))
    rec = grade_one("s", TOUR, _write(tmp_path, nb, "t"), settings)
    assert _scores(rec) == {"test_run_episode": 2.0, "test_td_target": 1.0}
    assert rec.details["counts"]["omitted"] == 3 and rec.details["counts"]["error"] == 0
    assert any(
        "(grade_id 'tour_policies') ran although marked not needed for grading" in note
        and "reads lean_policy" in note
        for note in rec.details["notes"]
    ), rec.details["notes"]
    assert any("(grade_id 'tour_cartpole') ran although" in n for n in rec.details["notes"])


def test_a_skip_mark_on_a_cell_a_graded_cell_needs_is_refused(settings, tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    source = nbformat.read(SOLUTIONS / f"{TOUR}.ipynb", as_version=4)
    _cell(source, "imports").metadata["course_lib"] = {"grading": "skip"}
    nbformat.write(source, solutions / f"{TOUR}.ipynb")
    settings = dataclasses.replace(settings, solutions=solutions, cache_dir=tmp_path / "cache")
    with pytest.raises(RuntimeError) as info:
        grade_one("s", TOUR, _write(tmp_path, fill(SOLUTIONS / f"{TOUR}.ipynb")), settings)
    message = str(info.value)
    imports = source.cells.index(_cell(source, "imports")) + 1
    test = source.cells.index(_cell(source, "test_run_episode")) + 1
    assert f"cell {imports}: is marked not needed for grading, but it defines `checks`" in message
    assert f"`cl`, which cell {test} (grade_id 'test_run_episode') reads" in message, message
    assert "fix the instructor notebook first" in message


def test_a_bug_costs_exactly_its_question(settings, tmp_path):
    nb = fill(
        SOLUTIONS / f"{TOUR}.ipynb",
        {
            "td_target": "return reward + gamma * (1.0 - float(terminated or truncated))"
            " * next_value"
        },
    )
    rec = grade_one("s", TOUR, _write(tmp_path, nb), settings)
    assert _scores(rec) == {"test_run_episode": 2.0, "test_td_target": 0.0}
    (td,) = [t for t in rec.tests if t.grade_id == "test_td_target"]
    assert "truncation is a time limit" in td.visible  # the student sees the check's diagnosis


HOSTILE = r"""
import builtins, numpy, torch
from IPython import get_ipython
import course_lib as cl, course_lib.observations as obs, course_lib.checks.core as core
numpy.allclose = torch.allclose = lambda *a, **k: True
builtins.isinstance = lambda *a, **k: True
builtins.abs = lambda x: 0
for name in ("expect", "expect_close", "expect_values"):
    setattr(core, name, lambda *a, **k: None)
class Always:
    def __eq__(self, other): return True
    def __getattr__(self, name): return self
def forge(lines):
    # Wrap every later cell in try/except and emit forged observations after it.
    body = "".join("    " + l for l in lines)
    return ["try:\n", body, "\nexcept BaseException:\n    pass\n",
            "obs.observe('td_target', [0.0] * 12)\n",
            "obs.observe('run_episode', {'toy': [], 'cartpole': [500.0, 500, False, True]})\n"]
get_ipython().input_transformers_post.append(forge)
print("my reward: 500.0, all checks passed")
leaked = []
for target in ["{solutions}", "{gradebook}", "/etc/shadow"]:
    try:
        leaked.append(open(target).read()[:50])
    except Exception as err:
        leaked.append(type(err).__name__)
    try:
        open(target, "a").write("forged")
    except Exception:
        pass
print(leaked)
"""


def test_hostile_submission_scores_no_unearned_point(settings, tmp_path):
    gradebook_path = tmp_path / "book.sqlite"
    book = Gradebook(gradebook_path)
    nb = fill(
        SOLUTIONS / f"{TOUR}.ipynb",
        {"run_episode": "return Always()", "td_target": "return Always()"},
    )
    attack = HOSTILE.replace("{solutions}", str(SOLUTIONS / f"{TOUR}.ipynb")).replace(
        "{gradebook}", str(gradebook_path)
    )
    nb.cells.insert(2, nbformat.v4.new_code_cell(attack))
    rec = grade_one("s", TOUR, _write(tmp_path, nb), settings)
    assert rec.sandboxed
    assert _scores(rec) == {"test_run_episode": 0.0, "test_td_target": 0.0}
    book.record(rec)
    assert len(book.latest()) == 1  # nothing else was written into the gradebook
    assert "forged" not in (SOLUTIONS / f"{TOUR}.ipynb").read_text()


def test_process_attacks_do_not_disturb_the_grader(settings, tmp_path):
    nb = fill(SOLUTIONS / f"{TOUR}.ipynb")
    attacks = [
        "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
        "except Exception as e:\n    print(e)",
        "import subprocess\nsubprocess.Popen(['sleep', '1000'], start_new_session=True)",
        "x = bytearray(50 * 2**30)",
        "print('x' * 100_000_000)",
        "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)",
    ]
    for i, code in enumerate(attacks):
        nb.cells.insert(3 + i, nbformat.v4.new_code_cell(code))
    rec = grade_one("s", TOUR, _write(tmp_path, nb), settings)
    # The attacks fail or are contained; the correct work is still fully credited.
    assert _scores(rec) == {"test_run_episode": 2.0, "test_td_target": 1.0}


def test_os_exit_costs_only_the_cells_it_stopped(settings, tmp_path):
    nb = fill(SOLUTIONS / f"{TOUR}.ipynb")
    position = nb.cells.index(_cell(nb, "test_run_episode")) + 1
    nb.cells.insert(position, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    rec = grade_one("s", TOUR, _write(tmp_path, nb), settings)
    scores = {t.grade_id: (t.score, t.status) for t in rec.tests}
    assert scores == {"test_run_episode": (2.0, "passed"), "test_td_target": (0.0, "not run")}


def _batch(tmp_path: Path) -> Path:
    good = fill(SOLUTIONS / f"{TOUR}.ipynb")
    for student in ("a", "b", "c"):
        _write(tmp_path, good, student)
    (tmp_path / "submitted" / "d" / TOUR).mkdir(parents=True)
    (tmp_path / "submitted" / "d" / TOUR / f"{TOUR}.ipynb").write_text("garbage")
    return tmp_path / "submitted"


def test_batch_resumes_and_is_deterministic_and_parallel_equals_serial(settings, tmp_path):
    root = _batch(tmp_path)
    items = discover(root)
    with Gradebook(tmp_path / "serial.sqlite") as book:
        first = grade_batch(book, items, settings)
        again = grade_batch(book, items, settings)
        serial = book.snapshot()
    assert (first.graded, first.skipped, len(first.errors)) == (4, 0, 1)
    assert (again.graded, again.skipped) == (0, 4)
    with Gradebook(tmp_path / "parallel.sqlite") as book:
        grade_batch(book, items, settings, workers=2)
        assert book.snapshot() == serial


def test_killed_grader_resumes_with_nothing_lost_or_counted_twice(settings, tmp_path):
    root = _batch(tmp_path)
    book_path = tmp_path / "book.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "course_lib",
        "grade",
        str(root),
        "--gradebook",
        str(book_path),
        "--seed",
        str(settings.seed),
        "--solutions",
        str(SOLUTIONS),
        "--cell-timeout",
        "15",
    ]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if book_path.exists():
            with Gradebook(book_path) as book:
                if len(book.latest()) >= 2:
                    break
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Gradebook(book_path) as book:
        partial = len(book.latest())
    assert 2 <= partial < 4
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    with Gradebook(book_path) as book:
        resumed = book.snapshot()
    with Gradebook(tmp_path / "clean.sqlite") as book:
        grade_batch(book, discover(root), settings)
        assert book.snapshot() == resumed
    assert len({row[0] for row in resumed}) == 4
    assert json.dumps(resumed)  # plain data


def test_stderr_warnings_never_cost_points(settings, tmp_path):
    noisy = """import sys, warnings
warnings.warn("this is only a warning")
print("progress on stderr", file=sys.stderr)
return float(reward + gamma * (1.0 - float(terminated)) * next_value)"""
    rec = grade_one(
        "s",
        TOUR,
        _write(tmp_path, fill(SOLUTIONS / f"{TOUR}.ipynb", {"td_target": noisy})),
        settings,
    )
    assert _scores(rec) == {"test_run_episode": 2.0, "test_td_target": 1.0}


def test_a_timed_out_cell_costs_only_its_own_points(settings, tmp_path):
    hang = "while True:\n    pass"
    rec = grade_one(
        "s",
        TOUR,
        _write(tmp_path, fill(SOLUTIONS / f"{TOUR}.ipynb", {"td_target": hang})),
        settings,
    )
    statuses = {t.grade_id: (t.score, t.status) for t in rec.tests}
    assert statuses == {"test_run_episode": (2.0, "passed"), "test_td_target": (0.0, "timeout")}


def test_fork_bomb_is_contained_and_the_next_submission_is_unaffected(settings, tmp_path):
    nb = fill(SOLUTIONS / f"{TOUR}.ipynb")
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
        )
    )
    start = time.monotonic()
    rec = grade_one("bomber", TOUR, _write(tmp_path, nb, "bomber"), settings)
    assert _scores(rec) == {"test_run_episode": 2.0, "test_td_target": 1.0}
    assert time.monotonic() - start < 120
    after = grade_one(
        "next", TOUR, _write(tmp_path, fill(SOLUTIONS / f"{TOUR}.ipynb"), "next"), settings
    )
    assert _scores(after) == {"test_run_episode": 2.0, "test_td_target": 1.0}


def test_other_submissions_cannot_be_written(settings, tmp_path):
    victim = _write(tmp_path, fill(SOLUTIONS / f"{TOUR}.ipynb"), "victim")
    before = victim.read_bytes()
    thief = fill(SOLUTIONS / f"{TOUR}.ipynb")
    thief.cells.insert(
        2,
        nbformat.v4.new_code_cell(
            f"try:\n    open({str(victim)!r}, 'a').write('x')\n"
            "except OSError as err:\n    print(type(err).__name__)"
        ),
    )
    grade_one("thief", TOUR, _write(tmp_path, thief, "thief"), settings)
    assert victim.read_bytes() == before


@pytest.mark.slow
def test_actor_critic_notebook_correct_submission_gets_full_marks(settings, tmp_path):
    path = tmp_path / "submitted" / "s" / "01_actor_critic" / "01_actor_critic.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(fill(SOLUTIONS / "01_actor_critic.ipynb"), path)
    rec = grade_one("s", "01_actor_critic", path, settings)
    assert rec.score == rec.max_score == 12.0, [(t.grade_id, t.message) for t in rec.tests]


@pytest.mark.slow
def test_a2c_notebook_correct_and_one_bug(settings, tmp_path):
    source = SOLUTIONS / "02_a2c.ipynb"
    correct = fill(source)
    path = tmp_path / "submitted" / "s" / "02_a2c" / "02_a2c.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(correct, path)
    rec = grade_one("s", "02_a2c", path, settings)
    assert rec.score == rec.max_score == 12.0, [(t.grade_id, t.message) for t in rec.tests]
    assert "agent.gif" in rec.artifacts and "learning_curve.png" in rec.artifacts
    # values left as (T, 1): only evaluate_actions is wrong (a2c_losses flattens them itself).
    buggy = fill(source, {"evaluate_actions": "return actor(obs).log_prob(actions), critic(obs)"})
    nbformat.write(buggy, path)
    rec = grade_one("s", "02_a2c", path, settings)
    assert {t.grade_id: t.score for t in rec.tests} == {
        "test_networks": 2.0,
        "test_compute_returns": 2.0,
        "test_evaluate_actions": 0.0,
        "test_a2c_losses": 3.0,
        "test_reward": 3.0,
    }


@pytest.mark.slow
def test_ppo_notebook_correct_and_sampling_with_replacement(settings, tmp_path):
    # PPO's full budget takes minutes: grade with the fast budgets, where every test but
    # the reward criterion earns its points and the grader's own episodes refuse the
    # barely trained policy (its full-budget reward is test_full_budget's job).
    settings = dataclasses.replace(settings, fast=True)
    source = SOLUTIONS / "03_ppo.ipynb"
    path = tmp_path / "submitted" / "s" / "03_ppo" / "03_ppo.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(fill(source), path)
    rec = grade_one("s", "03_ppo", path, settings)
    assert rec.max_score == 22.0 and rec.score == 18.0, [(t.grade_id, t.message) for t in rec.tests]
    (reward,) = [t for t in rec.tests if t.grade_id == "test_reward"]
    assert reward.score == 0.0 and "-200" in reward.message, reward.message
    assert "agent.gif" in rec.artifacts
    # the original homework's minibatches: drawn independently, so samples repeat in an epoch
    buggy = fill(
        source,
        {
            "ppo_iter": (
                "batch_size = states.shape[0]\n"
                "for _ in range(epoch):\n"
                "    for _ in range(batch_size // mini_batch_size):\n"
                "        idx = np.random.choice(batch_size, mini_batch_size, replace=False)\n"
                "        yield (states[idx], actions[idx], values[idx], log_probs[idx],\n"
                "               returns[idx], advantages[idx])"
            )
        },
    )
    nbformat.write(buggy, path)
    rec = grade_one("s", "03_ppo", path, settings)
    scores = {t.grade_id: t.score for t in rec.tests}
    assert scores["test_ppo_iter"] == 0.0, scores
    assert all(
        scores[g] == t
        for g, t in [
            ("test_action_normalizer", 1.0),
            ("test_networks", 3.0),
            ("test_compute_gae", 3.0),
            ("test_ppo_losses", 3.0),
            ("test_agent_step", 3.0),
            ("test_update_model", 3.0),  # the course's ppo_iter stands in for the wrong one
        ]
    ), scores
    (iter_test,) = [t for t in rec.tests if t.grade_id == "test_ppo_iter"]
    # the visible check fails first; the hidden probe still runs and the grader names the bug
    assert "an epoch repeats or drops samples" in iter_test.message, iter_test.message
    assert "draws WITH replacement across minibatches" in iter_test.visible, iter_test.visible


@pytest.mark.slow
def test_ddpg_notebook_correct_and_the_homeworks_uniform_noise(settings, tmp_path):
    # Fast budgets, as for PPO: every exercise earns its points; the barely trained actor
    # is refused by the grader's own episodes.
    settings = dataclasses.replace(settings, fast=True)
    source = SOLUTIONS / "04_ddpg.ipynb"
    path = tmp_path / "submitted" / "s" / "04_ddpg" / "04_ddpg.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(fill(source), path)
    rec = grade_one("s", "04_ddpg", path, settings)
    assert rec.max_score == 21.0 and rec.score == 14.0, [(t.grade_id, t.message) for t in rec.tests]
    (reward,) = [t for t in rec.tests if t.grade_id == "test_reward"]
    assert reward.score == 0.0 and "-200" in reward.message, reward.message
    (mountaincar,) = [t for t in rec.tests if t.grade_id == "test_reward_mountaincar"]
    assert mountaincar.score == 0.0 and "90" in mountaincar.message, mountaincar.message
    assert "agent.gif" in rec.artifacts and "agent_mountaincar.gif" in rec.artifacts
    assert "learning_curve.png" in rec.artifacts
    # the homework's OU noise: uniform kicks, never negative
    buggy = fill(
        source,
        {
            "ou_noise": lambda src: src.replace(
                "np.random.standard_normal(len(x))", "np.random.rand(len(x))"
            )
        },
    )
    nbformat.write(buggy, path)
    rec = grade_one("s", "04_ddpg", path, settings)
    scores = {t.grade_id: t.score for t in rec.tests}
    assert scores == {
        "test_replay_buffer": 3.0,
        "test_ou_noise": 0.0,
        "test_action_normalizer": 1.0,
        "test_networks": 2.0,
        "test_soft_update": 2.0,
        "test_agent": 4.0,
        "test_reward": 0.0,
        "test_reward_mountaincar": 0.0,
    }, scores
    (noise_test,) = [t for t in rec.tests if t.grade_id == "test_ou_noise"]
    assert "never negative" in noise_test.visible or "uniform" in noise_test.visible, (
        noise_test.visible
    )


@pytest.mark.slow
def test_agents_whose_visible_reward_check_failed_are_still_animated(settings, tmp_path):
    # The student's cell turns fast mode off after training's budgets were set: the visible
    # check_reward then judges the barely trained actors and raises. The hidden tests of
    # the same cells still export both policies, so the grader plays and animates them.
    settings = dataclasses.replace(settings, fast=True)
    path = tmp_path / "submitted" / "s" / "04_ddpg" / "04_ddpg.ipynb"
    path.parent.mkdir(parents=True)
    flip = "\nimport os\n\nos.environ['COURSE_LIB_FAST'] = '0'\n"
    nbformat.write(fill(SOLUTIONS / "04_ddpg.ipynb", {"agent": lambda src: src + flip}), path)
    rec = grade_one("s", "04_ddpg", path, settings)
    tests = {t.grade_id: t for t in rec.tests}
    for grade_id, criterion in [("test_reward", "-200"), ("test_reward_mountaincar", "90")]:
        test = tests[grade_id]
        assert "RewardCriterionNotMet: [check_reward]" in test.visible, test.visible
        assert f"criterion {criterion}" in test.visible, test.visible
        assert test.score == 0.0 and criterion in test.message, test.message
    assert "agent.gif" in rec.artifacts and "agent_mountaincar.gif" in rec.artifacts
    assert rec.score == 14.0, [(t.grade_id, t.score, t.message) for t in rec.tests]


@pytest.mark.slow
def test_a_wrong_soft_update_costs_its_own_question_once(settings, tmp_path):
    # The agent's probes run its update_model with the course's soft_update (exercise
    # definitions' AGENT_PARTS): the hard update costs test_soft_update's 2 points, not
    # test_agent's 4 as well. The reward question stays end to end.
    settings = dataclasses.replace(settings, fast=True)
    source = SOLUTIONS / "04_ddpg.ipynb"
    path = tmp_path / "submitted" / "s" / "04_ddpg" / "04_ddpg.ipynb"
    path.parent.mkdir(parents=True)
    hard = (
        "def soft_update(target, source, tau):\n    target.load_state_dict(source.state_dict())\n"
    )
    nbformat.write(fill(source, {"soft_update": lambda _: hard}), path)
    rec = grade_one("s", "04_ddpg", path, settings)
    scores = {t.grade_id: t.score for t in rec.tests}
    assert scores["test_soft_update"] == 0.0 and scores["test_agent"] == 4.0, scores
    assert scores["test_replay_buffer"] == 3.0 and scores["test_networks"] == 2.0, scores


@pytest.mark.slow
def test_td3_notebook_correct_and_max_instead_of_min(settings, tmp_path):
    settings = dataclasses.replace(settings, fast=True)
    source = SOLUTIONS / "05_td3.ipynb"
    path = tmp_path / "submitted" / "s" / "05_td3" / "05_td3.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(fill(source), path)
    rec = grade_one("s", "05_td3", path, settings)
    assert rec.max_score == 13.0 and rec.score == 7.0, [(t.grade_id, t.message) for t in rec.tests]
    rewards = {t.grade_id: t for t in rec.tests if t.grade_id.startswith("test_reward")}
    assert rewards["test_reward_pendulum"].score == 0.0
    assert "-200" in rewards["test_reward_pendulum"].message
    assert "90" in rewards["test_reward_mountaincar"].message
    assert {"agent_pendulum.gif", "agent_mountaincar.gif"} <= set(rec.artifacts)
    assert {"learning_curve_pendulum.png", "learning_curve_mountaincar.png"} <= set(rec.artifacts)
    # the clipped double-Q target taken with max: optimistic, TD3's main fix undone
    buggy = fill(
        source, {"td3": lambda src: src.replace("torch.min(target_q1", "torch.max(target_q1")}
    )
    nbformat.write(buggy, path)
    rec = grade_one("s", "05_td3", path, settings)
    scores = {t.grade_id: t.score for t in rec.tests}
    assert scores["test_networks"] == 2.0 and scores["test_td3"] == 0.0, scores
    (td3_test,) = [t for t in rec.tests if t.grade_id == "test_td3"]
    assert "max" in td3_test.visible, td3_test.visible


def test_a_reference_policy_without_its_criterion_stops_the_grader_with_the_fix():
    from course_lib.instructor.grading.grade import _policy_criterion

    criterion = {"env_id": "CartPole-v1", "threshold": 475, "episodes": 20}
    assert _policy_criterion("trained_policy", {"criterion": criterion}) == {
        "env_id": "CartPole-v1",
        "threshold": 475.0,
        "episodes": 20,
    }
    with pytest.raises(RuntimeError, match=r"pass_mark=config\.criterion"):
        _policy_criterion("trained_policy", {"meta": {}, "program": ""})
