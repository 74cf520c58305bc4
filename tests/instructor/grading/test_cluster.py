"""Grading on Dask: a local cluster gives the serial results, survives a killed worker, records
a submission that keeps killing workers as an error; Slurm job scripts carry the settings."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from course_lib.instructor.cli import main
from course_lib.instructor.grading.grade import GRADER_VERSION, GradeSettings, discover, grade_batch
from course_lib.instructor.grading.gradebook import Gradebook, SubmissionRecord
from course_lib.instructor.grading.sample import CORE_ASSIGNMENTS, make_sample_class
from course_lib.instructor.grading.sandbox import Limits

distributed = pytest.importorskip("distributed", reason="the cluster extra is not installed")
from course_lib.instructor.grading import cluster  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
SOLUTIONS = ROOT / "solutions"

# One worker for the module under pytest-xdist: the sample class is graded once, serially,
# for the tests that compare the cluster's gradebook with it.
pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("cluster")]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample class, its settings, and its serial gradebook snapshot."""
    base = tmp_path_factory.mktemp("cluster")
    make_sample_class(SOLUTIONS, base, list(CORE_ASSIGNMENTS))
    settings = GradeSettings(
        solutions=SOLUTIONS,
        seed=4242,
        cache_dir=base / "cache",
        scratch=base / "scratch",
        limits=Limits(cell_timeout_s=60, notebook_timeout_s=600),
        fast=True,
    )
    items = discover(base / "submitted")
    with Gradebook(base / "serial.sqlite") as book:
        grade_batch(book, items, settings)
        serial = book.snapshot()
    return base, settings, items, serial


@pytest.fixture
def local_cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as lc:
        yield lc


def test_cli_on_a_running_scheduler_gives_the_serial_results(sample, local_cluster, capsys):
    base, settings, items, serial = sample
    book_path = base / "dask.sqlite"
    code = main([
        "grade", str(base / "submitted"), "--gradebook", str(book_path), "--seed",
        str(settings.seed), "--solutions", str(SOLUTIONS), "--cell-timeout", "60",
        "--notebook-timeout", "600", "--fast", "--scheduler", local_cluster.scheduler_address,
    ])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert f"scheduler {local_cluster.scheduler_address}" in out and "dashboard: http" in out
    with Gradebook(book_path) as book:
        assert book.snapshot() == serial
    assert len({(row[0], row[1]) for row in serial}) == len(items)
    # the class report reads the cluster's gradebook as it reads the serial one
    from course_lib.instructor.grading.report import write_report

    with Gradebook(book_path) as book, Gradebook(base / "serial.sqlite") as local:
        on_dask = write_report(book, base / "report-dask").findings.read_text()
        here = write_report(local, base / "report-serial").findings.read_text()
    assert on_dask == here and "tour.td_target.truncation_masks_bootstrap" in here


def test_a_worker_killed_mid_batch_loses_nothing(sample, local_cluster):
    base, settings, items, serial = sample
    client = distributed.Client(local_cluster)
    killed: list[str] = []

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            busy = [w for w, tasks in client.processing().items() if tasks]
            if busy:
                time.sleep(1.0)  # let its sandboxed kernel start
                pids = client.run(os.getpid, workers=[busy[0]])
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.2)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    try:
        with Gradebook(base / "killed.sqlite") as book:
            summary = grade_batch(book, items, settings, client=client)
            snapshot = book.snapshot()
    finally:
        killer.join()
        client.close()
    assert killed, "no worker was busy: the test did not kill anything"
    assert summary.graded == len(items)
    assert snapshot == serial


def _die_on_killer(student, assignment, path, settings):
    """A stand-in for grade_one: the submission of 'killer' ends its worker process, and
    'unlucky' ends it on its first try only (a worker lost for a reason of its own)."""
    if student == "killer":
        os._exit(1)
    if student == "unlucky":
        marker = Path(settings.scratch) / "unlucky-tried"
        if not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            os._exit(1)
    return SubmissionRecord(student, assignment, str(path), "hash", GRADER_VERSION, "graded")


def _grade_with_killers(tmp_path, client, students):
    settings = GradeSettings(
        solutions=SOLUTIONS, seed=1, cache_dir=tmp_path / "cache", scratch=tmp_path / "scratch"
    )
    source = SOLUTIONS / "00_gymnasium_tour.ipynb"
    todo = [(student, "00_gymnasium_tour", source) for student in students]
    records: list[SubmissionRecord] = []
    try:
        cluster.grade_on_dask(client, todo, settings, records.append, grade=_die_on_killer)
    finally:
        lc = client.cluster
        client.close()
        lc.close()
    return {r.student: r for r in records}


def test_local_client_gives_each_worker_one_submission_at_a_time():
    client = cluster.local_client(2, allowed_failures=1)
    try:
        saturation, allowed = client.run_on_scheduler(
            lambda dask_scheduler: (
                dask_scheduler.WORKER_SATURATION,
                dask_scheduler.allowed_failures,
            )
        )
    finally:
        lc = client.cluster
        client.close()
        lc.close()
    assert (saturation, allowed) == (1.0, 1)


def test_a_submission_that_keeps_killing_workers_is_an_error_row(tmp_path):
    # Dask's default worker-saturation queues a second task on each one-thread worker, so
    # the killer takes its neighbours down with it: they must still be graded.
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        lc = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    students = ["killer"] + [f"s{i}" for i in range(6)]
    by_student = _grade_with_killers(tmp_path, distributed.Client(lc), students)
    assert sorted(by_student) == sorted(students)
    assert all(by_student[f"s{i}"].status == "graded" for i in range(6)), {
        s: (r.status, r.error) for s, r in by_student.items()
    }
    bad = by_student["killer"]
    assert bad.status == "error"
    assert "killed its worker repeatedly" in bad.error and "alone on the cluster" in bad.error
    assert "not tried again" in bad.error
    assert bad.tests and all(t.score == 0 and t.status == "not run" for t in bad.tests)


def test_a_submission_given_up_on_by_the_scheduler_is_graded_again_alone(tmp_path):
    # allowed_failures=0: the scheduler gives up on 'unlucky' at its first lost worker.
    client = cluster.local_client(2, allowed_failures=0)
    by_student = _grade_with_killers(tmp_path, client, ["unlucky", "s0", "s1", "s2"])
    assert (tmp_path / "scratch" / "unlucky-tried").exists()
    assert {s: r.status for s, r in by_student.items()} == dict.fromkeys(
        ["unlucky", "s0", "s1", "s2"], "graded"
    )


def _slurm_settings(tmp_path, **changes):
    settings = GradeSettings(
        solutions=SOLUTIONS, seed=1, cache_dir=tmp_path / "c", scratch=tmp_path / "s",
        limits=Limits(memory_mb=4096), require_sandbox=True,
    )  # fmt: skip
    return dataclasses.replace(settings, **changes)


def test_slurm_job_script_carries_the_resources_and_the_sandbox_settings(tmp_path):
    pytest.importorskip("dask_jobqueue")
    options = cluster.SlurmOptions(
        queue="short", account="cs101", cores=4, memory="24GB", walltime="01:30:00", max_jobs=3
    )
    slurm = cluster.slurm_cluster(options, _slurm_settings(tmp_path))
    try:
        script = slurm.job_script()
    finally:
        slurm.close()
    for line in ("#SBATCH -p short", "#SBATCH -A cs101", "#SBATCH --cpus-per-task=4",
                 "#SBATCH -t 01:30:00", "#SBATCH -J course-lib-grade"):  # fmt: skip
        assert line in script, script
    assert "#SBATCH --mem=" in script
    assert "--nworkers 4" in script and "--nthreads 1" in script
    assert "--lifetime 5100s" in script  # retire 5 minutes before the walltime
    assert "OMP_NUM_THREADS=1" in script and "COURSE_LIB_FAST=0" in script
    assert "command -v bwrap" in script and "--require-sandbox" in script
    assert sys.executable in script


def test_slurm_job_script_without_require_sandbox_does_not_check_bwrap(tmp_path):
    pytest.importorskip("dask_jobqueue")
    slurm = cluster.slurm_cluster(
        cluster.SlurmOptions(cores=2, memory="16GB"),
        _slurm_settings(tmp_path, require_sandbox=False, fast=True),
    )
    try:
        script = slurm.job_script()
    finally:
        slurm.close()
    assert "bwrap" not in script and "COURSE_LIB_FAST=1" in script


@pytest.mark.parametrize(
    ("memory", "message"),
    [
        ("16GB", "ask for at least 21GB"),
        ("lots", "give a size such as 16GB"),
    ],
)
def test_slurm_options_that_cannot_work_are_clear_errors(tmp_path, memory, message):
    with pytest.raises(ValueError, match=message):
        cluster.slurm_cluster(
            cluster.SlurmOptions(cores=4, memory=memory), _slurm_settings(tmp_path)
        )


def test_slurm_walltime_must_be_hours_minutes_seconds(tmp_path):
    options = cluster.SlurmOptions(cores=1, memory="8GB", walltime="90 minutes")
    with pytest.raises(ValueError, match="give HH:MM:SS or D-HH:MM:SS"):
        cluster.slurm_cluster(options, _slurm_settings(tmp_path))
    assert cluster._seconds("1-02:03:04") == 93_784


def test_cli_names_a_scheduler_that_does_not_answer(tmp_path, capsys):
    (tmp_path / "submitted").mkdir()
    code = main([
        "grade", str(tmp_path / "submitted"), "--gradebook", str(tmp_path / "b.sqlite"),
        "--scheduler", "tcp://127.0.0.1:9",
    ])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "no Dask scheduler answered at tcp://127.0.0.1:9" in err and "dask scheduler" in err


def test_without_the_extra_the_flags_name_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    (tmp_path / "submitted").mkdir()
    code = main([
        "grade", str(tmp_path / "submitted"), "--gradebook", str(tmp_path / "b.sqlite"),
        "--scheduler", "tcp://127.0.0.1:8786",
    ])  # fmt: skip
    assert code == 2
    assert 'pip install "course-lib[cluster]"' in capsys.readouterr().err
