"""The sample class's feedback pages, as a student sees them in a browser: the grader's
verdict on a failed hidden test, both reward figures, the trained agent's animation."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from course_lib.instructor.grading.feedback import write_feedback
from course_lib.instructor.grading.gradebook import Gradebook

pytestmark = [pytest.mark.notebook, pytest.mark.browser, pytest.mark.xdist_group("sample-class")]


@pytest.fixture(scope="module")
def pages(graded_sample_class: Path) -> Path:
    """The sample class's feedback pages (the class graded once per session, fast budgets)."""
    with Gradebook(graded_sample_class / "book.sqlite") as book:
        write_feedback(book, graded_sample_class / "feedback")
    return graded_sample_class / "feedback"


def test_a_failed_hidden_test_shows_the_graders_verdict(page, pages, shots):
    page.goto((pages / "ben" / "00_gymnasium_tour.html").as_uri())
    row = page.locator("tr", has_text="test_td_target")
    expect(row.locator("td").nth(2)).to_have_text("wrong")
    expect(row.locator("td.verdict")).to_contain_text("td_target: ")
    expect(row.locator("td.verdict")).to_contain_text("expected")
    expect(page.get_by_text("one mistake costs one question")).to_be_visible()
    page.screenshot(path=shots / "feedback_ben_00.png", full_page=True)


def test_a_reward_shows_both_measurements_and_the_agent_plays(page, pages, shots):
    page.goto((pages / "ada" / "02_a2c.html").as_uri())
    row = page.locator("tr", has_text="test_reward")
    expect(row.locator("td").nth(2)).to_have_text("below the criterion")
    expect(row.locator("td.verdict")).to_contain_text("grader episodes")  # the grader's run
    expect(row.locator("pre")).to_contain_text("over 200 episodes")  # the notebook's own
    agent = page.locator("img[alt='trained agent']")
    expect(agent).to_be_visible()
    width = agent.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 100, "the agent's GIF did not load"
    curve = page.locator("img[alt='learning curve']")
    assert curve.evaluate("img => img.naturalWidth") > 100
    page.screenshot(path=shots / "feedback_ada_02.png", full_page=True)


def test_a_wrong_earlier_question_is_named_under_the_reward(page, pages):
    page.goto((pages / "ben" / "02_a2c.html").as_uri())
    row = page.locator("tr", has_text="test_reward")
    expect(row.locator("td.verdict")).to_contain_text(
        "earlier questions lost points (test_compute_returns)"
    )
