"""The class report, as an instructor opens it: the index, an assignment's page with its
plots, the named mistakes and who made them."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from course_lib.instructor.grading.gradebook import Gradebook
from course_lib.instructor.grading.report import SimilarityOptions, write_report

pytestmark = [pytest.mark.notebook, pytest.mark.browser, pytest.mark.xdist_group("sample-class")]


@pytest.fixture(scope="module")
def report(graded_sample_class: Path) -> Path:
    with Gradebook(graded_sample_class / "book.sqlite") as book:
        write_report(
            book,
            graded_sample_class / "report-browser",
            similarity=SimilarityOptions(Path(__file__).resolve().parents[2] / "solutions"),
        )
    return graded_sample_class / "report-browser"


def _loaded(img) -> int:
    return img.evaluate("img => img.complete ? img.naturalWidth : 0")


def test_the_index_links_every_assignment(page, report, shots):
    page.goto((report / "index.html").as_uri())
    expect(page.locator("h1")).to_have_text("Class report")
    rows = page.locator("table tr")
    expect(rows).to_have_count(7)  # a header and six assignments
    page.get_by_role("link", name="04_ddpg").click()
    expect(page.locator("h1")).to_have_text("04_ddpg")
    page.goto((report / "index.html").as_uri())
    page.screenshot(path=shots / "report_index.png", full_page=True)


def test_an_assignment_page_shows_its_mistakes_and_plots(page, report, shots):
    page.goto((report / "04_ddpg.html").as_uri())
    mistakes = page.locator("h2:has-text('Mistakes the grader named') + table")
    uniform = mistakes.locator("tr", has_text="ddpg.ou_noise.non_normal_increments")
    expect(uniform.locator("td").nth(2)).to_have_text("2")
    expect(uniform.locator("td").nth(3)).to_have_text("ben, gus")
    expect(mistakes.locator("tr", has_text="td_target_from_online_networks")).to_contain_text("fay")
    histograms = page.locator("img[alt='score histograms']")
    assert _loaded(histograms) > 300, "the histograms did not load"
    for policy in ("trained_policy", "trained_policy_mountaincar"):
        plot = page.locator(f"img[alt='returns of {policy}']")
        assert _loaded(plot) > 300, f"the returns of {policy} did not load"
    curves = page.locator("img[alt^='learning curve of']")
    assert curves.count() >= 2 and all(_loaded(c) > 300 for c in curves.all())
    expect(page.get_by_text("Grading cost")).to_be_visible()
    page.screenshot(path=shots / "report_04_ddpg.png", full_page=True)


def test_the_similarity_page_shows_alike_answers_side_by_side(page, report, shots):
    # the sample class's students are the reference's code with one edit each: alike
    page.goto((report / "index.html").as_uri())
    page.get_by_role("link", name="similarity screening").click()
    expect(page.locator("h1")).to_have_text("Similarity screening")
    first = page.locator("div.side").first
    expect(first.locator("pre")).to_have_count(2)
    boxes = [b.bounding_box() for b in first.locator("pre").all()]
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1, "not side by side"
    assert first.locator("mark").count() > 0
    page.screenshot(path=shots / "report_similarity.png", full_page=False)
