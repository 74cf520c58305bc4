"""One Finding type for every exercise: its fields, the grader's two wordings, and the names
of the known mistakes it recognises."""

from __future__ import annotations

import ast
import dataclasses
import pickle
from pathlib import Path

import pytest

from course_lib.exercises import ddpg, td3
from course_lib.exercises.finding import Finding, Hint


def test_both_notebooks_use_the_one_type():
    assert ddpg.Finding is Finding and td3.Finding is Finding


def test_message_names_the_problem_the_place_and_the_fix():
    found = Finding("the noise is uniform.", hint="draw np.random.randn", where="step 3")
    assert (
        found.message() == "the noise is uniform. (where: step 3) Likely fix: draw np.random.randn"
    )
    assert found.message_where_first() == "step 3: the noise is uniform. draw np.random.randn"
    bare = Finding("wrong.")
    assert bare.message() == "wrong." and bare.message_where_first() == "wrong."


def test_a_finding_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Finding("x").problem = "y"  # type: ignore[misc]


EXERCISES = Path(__file__).resolve().parents[2] / "course_lib" / "exercises"


def test_a_hint_is_its_text_and_carries_the_name():
    hint = Hint("a2c.losses.actor_loss_sign", "minimize -(log_probs * advantage)")
    assert (
        hint == "minimize -(log_probs * advantage)" and hint.mistake == "a2c.losses.actor_loss_sign"
    )
    assert Finding("the sign is flipped", hint=hint).mistake == hint.mistake
    assert pickle.loads(pickle.dumps(hint)).mistake == hint.mistake  # crosses processes
    assert Finding("crashed", from_error=True).mistake is None
    named = Finding("x", mistake="ppo.ppo_iter.sampled_with_replacement")
    assert named.named_problem().mistake == "ppo.ppo_iter.sampled_with_replacement"
    assert not isinstance(Finding("y").named_problem(), Hint)


@pytest.mark.parametrize("name", ["uniform", "OU.noise.x", "ddpg.ou_noise", "ddpg..x", "a.b.c d"])
def test_a_malformed_name_is_refused(name):
    with pytest.raises(ValueError, match="snake case"):
        Hint(name, "text")
    with pytest.raises(ValueError, match="snake case"):
        Finding("problem", mistake=name)


def _plain_hints(path: Path) -> list[str]:
    """``file:line`` of every hint given to a Finding as a plain string literal."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Finding"):
            continue
        hints = [k.value for k in node.keywords if k.arg == "hint"] + node.args[1:2]
        for hint in hints:
            if isinstance(hint, ast.Constant | ast.JoinedStr) and hint.value is not None:
                found.append(f"{path.relative_to(EXERCISES)}:{node.lineno}")
            elif isinstance(hint, ast.BinOp):  # "..." + "...": a plain string
                found.append(f"{path.relative_to(EXERCISES)}:{node.lineno}")
    return found


def test_every_hint_written_in_a_finding_names_its_mistake():
    plain = [where for path in sorted(EXERCISES.rglob("*.py")) for where in _plain_hints(path)]
    assert plain == [], f"hints without a mistake's name (wrap them in Hint): {plain}"
