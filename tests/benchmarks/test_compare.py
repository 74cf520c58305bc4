"""benchmarks/compare.py: the report's arithmetic, and a run of the harness on a tiny budget."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "compare.py"
sys.path.insert(0, str(SCRIPT.parent))

import compare  # noqa: E402


def _run(pair: str, agent: str, seed: int, criterion: list | None, steps: int, seconds: float):
    return {
        "pair": pair, "agent": agent, "seed": seed, "criterion": criterion, "final": -180.0,
        "steps": steps, "seconds": seconds, "stop_rule_seconds": 0.5, "peak_mib": 300.0,
        "device": "cpu", "curve": [[1_000, 1.0, -900.0], [steps, seconds, -180.0]],
    }  # fmt: skip


def test_ratio_of_medians_when_both_reach_the_criterion():
    assert compare._ratio(5_000, 10_000, [], 0) == ("0.50", True)
    assert compare._ratio(12.0, 10.0, [], 1) == ("1.20", False)


def test_ratio_when_sb3_does_not_reach_is_an_upper_bound_from_what_it_did():
    sb3 = [_run("td3-mountaincar", "sb3", s, None, 40_000, 300.0) for s in range(3)]
    assert compare._ratio(10_000, math.inf, sb3, 0) == ("< 0.25 (SB3 not reached)", True)
    # ours needed more than SB3 had done: ours is not shown ahead
    assert compare._ratio(60_000, math.inf, sb3, 0)[1] is False
    assert compare._ratio(math.inf, 5.0, sb3, 1) == ("ours not reached", False)


def test_median_counts_a_run_that_did_not_reach_as_worse_than_any_that_did():
    runs = [
        _run("ddpg-pendulum", "ours", 0, [4_000, 20.0], 4_000, 20.0),
        _run("ddpg-pendulum", "ours", 1, None, 15_000, 80.0),
        _run("ddpg-pendulum", "ours", 2, [6_000, 30.0], 6_000, 30.0),
    ]
    assert compare._median(runs, 0) == 6_000
    assert math.isinf(compare._median(runs[1:2], 1))


def test_report_counts_targets_met_and_says_when_ours_is_behind():
    runs = []
    for seed in range(5):
        # ours: 5,000 steps in 8 s for seeds 0-3 (within 6,000 / 10 s), seed 4 too slow
        seconds = 8.0 if seed < 4 else 12.0
        runs.append(_run("ddpg-pendulum", "ours", seed, [5_000, seconds], 5_000, seconds))
        # SB3: more steps but fewer seconds
        runs.append(_run("ddpg-pendulum", "sb3", seed, [13_000, 7.0], 13_000, 7.0))
    text, verdicts = compare.report(runs, 5, 2, "Machine speed: test.")
    assert verdicts["ddpg-pendulum"] == {"ahead": False, "met": 4, "seeds": 5}
    row = next(line for line in text.splitlines() if line.startswith("| DDPG on Pendulum-v1"))
    assert "| 5,000 | 13,000 | 0.38 | 8.0 | 7.0 | 1.14 | 4/5" in row
    assert row.endswith("| no |")


@pytest.mark.slow
def test_harness_runs_both_agents_and_writes_its_table_plot_and_runs(tmp_path):
    out = tmp_path / "compare.md"
    cmd = [sys.executable, str(SCRIPT), "--pairs", "a2c-cartpole", "td3-pendulum",
           "--seeds", "1", "--max-steps", "2000", "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]

    runs = [json.loads(line) for line in (tmp_path / "compare_runs.jsonl").read_text().splitlines()]
    assert sorted((r["pair"], r["agent"]) for r in runs) == [
        ("a2c-cartpole", "ours"), ("a2c-cartpole", "sb3"),
        ("td3-pendulum", "ours"), ("td3-pendulum", "sb3"),
    ]  # fmt: skip
    for r in runs:
        pair = compare.PAIRS[r["pair"]]
        # stopped by the 2,000-step cap, at the first probe past it
        assert 2_000 <= r["steps"] < 2_000 + pair.eval_every, r
        assert r["curve"][-1][0] == r["steps"] and r["final"] == r["curve"][-1][2]
        assert r["device"] == "cpu" and r["peak_mib"] > 100 and r["seconds"] > 0

    text = out.read_text()
    for title in ("A2C on CartPole-v1", "TD3 on Pendulum-v1"):
        assert f"| {title} | 1 |" in text  # summary row
        assert f"## {title}" in text  # per-seed table
    assert text.count("| ours | 0 |") == 2 and text.count("| SB3 | 0 |") == 2

    png = out.with_suffix(".png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

    again = tmp_path / "again.md"
    cmd = [sys.executable, str(SCRIPT), "--from-raw", str(tmp_path / "compare_runs.jsonl"),
           "--seeds", "1", "--out", str(again)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the same tables, written from the runs file alone, linking the PNG written beside them
    rewritten = again.read_text()
    assert "](again.png)" in rewritten and again.with_suffix(".png").is_file()
    assert (
        rewritten.replace("](again.png)", "](compare.png)").split("\n", 3)[3]
        == text.split("\n", 3)[3]
    )


def test_report_only_names_a_missing_runs_file(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--from-raw", str(tmp_path / "nope.jsonl")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert "nope.jsonl: no such file" in proc.stderr


def test_a_later_runs_file_replaces_the_pairs_it_reran(tmp_path):
    """--from-raw OLD NEW: NEW's pairs replace OLD's, OLD's other pairs stay, each pair
    named with the runs file and machine speed it comes from."""
    old, new = tmp_path / "old_runs.jsonl", tmp_path / "new_runs.jsonl"
    old.write_text("".join(json.dumps(r) + "\n" for r in [
        _run("a2c-cartpole", "ours", 0, [9_000, 9.0], 9_000, 9.0),
        _run("a2c-cartpole", "sb3", 0, [10_000, 3.0], 10_000, 3.0),
        _run("td3-mountaincar", "ours", 0, [10_000, 40.0], 10_000, 40.0),
        _run("td3-mountaincar", "sb3", 0, None, 300_000, 300.0),
    ]))  # fmt: skip
    new.write_text("".join(json.dumps(r) + "\n" for r in [
        _run("a2c-cartpole", "ours", 0, [6_000, 2.0], 6_000, 2.0),
        _run("a2c-cartpole", "sb3", 0, [10_000, 3.0], 10_000, 3.0),
    ]))  # fmt: skip
    old.with_suffix(".meta.json").write_text(json.dumps({"machine_speed": "SPEED-OLD."}))
    new.with_suffix(".meta.json").write_text(json.dumps({"machine_speed": "SPEED-NEW."}))
    out = tmp_path / "merged.md"
    cmd = [sys.executable, str(SCRIPT), "--from-raw", str(old), str(new), "--seeds", "1",
           "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    assert "| A2C on CartPole-v1 | 1 | 6,000 | 10,000 | 0.60 |" in text  # the re-run
    assert "| TD3 on MountainCarContinuous-v0 | 1 | 10,000 |" in text  # kept
    assert "9,000" not in text
    assert "A2C on CartPole-v1: runs of `new_runs.jsonl`. SPEED-NEW." in text
    assert "TD3 on MountainCarContinuous-v0: runs of `old_runs.jsonl`. SPEED-OLD." in text
