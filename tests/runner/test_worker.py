"""The runner with real processes: workers, children, heartbeats, cancel, kill -9 recovery."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from ferlab.runner import submit
from ferlab.store import NotFound
from ferlab.training.spec import TrainSpec
from tests.helpers import register_synthetic, tiny_model

TINY = tiny_model()


@pytest.fixture
def data(store) -> str:
    return register_synthetic(store, "small", 40, seed=9)


@pytest.fixture
def spec(data) -> TrainSpec:
    return TrainSpec(data=data, model=TINY, learning_rate=1e-3, epochs=1, precision="float32", augmentation="none")


def start_worker(*args: str, stale: float = 30.0) -> subprocess.Popen:
    env = dict(os.environ, FERLAB_STALE_AFTER_S=str(stale), FERLAB_HEARTBEAT_S="0.5", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "ferlab", "worker", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_submit_validates_before_storing(store, spec):
    with pytest.raises(ValueError, match="batch_size"):
        submit(store, "train", replace(spec, batch_size=0).to_dict())
    with pytest.raises(ValueError, match="unknown job kind"):
        submit(store, "paint", spec.to_dict())
    with pytest.raises(NotFound, match="ferlab data import"):
        submit(store, "train", replace(spec, data="never-imported").to_dict())
    assert store.list_jobs() == []
    assert submit(store, "train", spec.to_dict()).status == "queued"


def test_two_real_workers_never_run_the_same_job(store, spec):
    jobs = [submit(store, "train", spec.to_dict()).id for _ in range(4)]
    workers = [start_worker("--once"), start_worker("--once")]
    outputs = [w.communicate(timeout=400)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    ran = [int(line.split()[-3]) for out in outputs for line in out.splitlines() if line.endswith("job(s); exiting")]
    assert sum(ran) == 4
    for job_id in jobs:
        job = store.get_job(job_id)
        assert job.status == "completed" and job.attempts == 1, job
        [trial] = store.list_trials(job_id)
        assert store.count_epochs(trial.id) == 1
    assert len({store.get_job(j).worker for j in jobs}) >= 1


def test_cancel_stops_a_running_job_within_one_epoch(store, spec):
    job = submit(store, "train", replace(spec, data="demo", epochs=40).to_dict())
    worker = start_worker("--once")
    try:
        trial = wait_for(lambda: store.list_trials(job.id), 120, "the trial to start")[0]
        wait_for(lambda: store.count_epochs(trial.id) >= 1, 120, "the first epoch")
        store.request_cancel(job.id)
        worker.communicate(timeout=120)
    finally:
        worker.kill()
    assert store.get_job(job.id).status == "cancelled"
    n = store.count_epochs(trial.id)
    assert 1 <= n < 40 and [e.epoch for e in store.epochs([trial.id])] == list(range(1, n + 1))


def test_kill_9_mid_epoch_resumes_from_checkpoint_without_lost_or_double_epochs(store, spec):
    epochs = 8
    job = submit(store, "train", replace(spec, data="demo", epochs=epochs).to_dict())
    kills = 0
    for _ in range(2):                       # two kills: the second resumes a resumed run
        worker = start_worker(stale=2.0)
        trial = wait_for(lambda: store.list_trials(job.id), 120, "the trial")[0]
        before = store.count_epochs(trial.id)
        if before >= epochs - 1:
            worker.kill()
            break
        wait_for(lambda: store.count_epochs(trial.id) > before, 120, "a new epoch")
        time.sleep(0.4)                      # into the next epoch
        os.kill(worker.pid, signal.SIGKILL)  # the child dies with it (PR_SET_PDEATHSIG)
        worker.wait()
        kills += 1
        stopped = store.count_epochs(trial.id)
        time.sleep(2.5)
        assert store.count_epochs(trial.id) == stopped, "the child outlived its worker"
        assert store.get_job(job.id).status == "running"  # stale, until the next worker looks
    final = start_worker("--once", stale=2.0)
    out = final.communicate(timeout=400)[0]
    assert kills >= 2
    assert "stale heartbeat, requeued to resume" in out
    done = store.get_job(job.id)
    assert done.status == "completed", (done.error, out)
    assert done.attempts == kills + 1
    [trial] = store.list_trials(job.id)
    assert [e.epoch for e in store.epochs([trial.id])] == list(range(1, epochs + 1))
    log = open(done.log_path).read()
    assert log.count("resuming job") >= 1


def test_a_crashing_child_fails_its_job_and_the_worker_goes_on(store, spec):
    doomed = submit(store, "train", replace(spec, data="demo", epochs=50).to_dict())
    after = submit(store, "train", spec.to_dict())
    worker = start_worker("--once")
    try:
        trial = wait_for(lambda: store.list_trials(doomed.id), 120, "the trial")[0]
        wait_for(lambda: store.count_epochs(trial.id) >= 1, 120, "an epoch")
        # this worker's own child: another test's store (pytest -n 2) can run a job of the same number
        child = subprocess.run(["pgrep", "-P", str(worker.pid), "-f", f"ferlab.runner.child {doomed.id}$"],
                               capture_output=True, text=True)
        os.kill(int(child.stdout.split()[0]), signal.SIGKILL)
        out = worker.communicate(timeout=300)[0]
    finally:
        worker.kill()
    failed = store.get_job(doomed.id)
    assert failed.status == "failed" and "ended with signal 9" in failed.error and "jobs retry" in failed.error
    assert store.get_job(after.id).status == "completed", out
    assert store.retry_job(doomed.id).status == "queued"


def test_background_train_starts_a_detached_worker_and_logs(store, data):
    out = subprocess.run([sys.executable, "-m", "ferlab", "train", "--preset", "demo-quick", "--data",
                          data, "--epochs", "1", "--precision", "float32", "--background"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "queued job 1 (train); started a worker" in out.stdout
    pid = int(out.stdout.split("pid ")[1].split(")")[0])
    try:
        wait_for(lambda: store.get_job(1).status in ("completed", "failed"), 300, "the job")
        assert store.get_job(1).status == "completed", store.get_job(1).error
        log = subprocess.run([sys.executable, "-m", "ferlab", "jobs", "log", "1"], capture_output=True, text=True)
        assert "[ferlab] job 1 (train), attempt 1" in log.stdout and "val_accuracy:" in log.stdout
        again = subprocess.run([sys.executable, "-m", "ferlab", "train", "--data", data, "--epochs", "1",
                                "--background"], capture_output=True, text=True, timeout=120)
        assert "a worker is running" in again.stdout
    finally:
        os.kill(pid, signal.SIGKILL)  # its child (job 2) dies with it


def test_a_worker_runs_an_ensemble_job_after_the_runs_it_averages(store, spec):
    from ferlab import config

    first, second = (submit(store, "train", replace(spec, seed=s).to_dict()) for s in (1, 2))
    members = [str(config.runs_dir() / f"job-{j.id}" / "model.keras") for j in (first, second)]
    ensemble = submit(store, "ensemble", {"data": spec.data, "members": members})
    worker = start_worker("--once")
    out = worker.communicate(timeout=400)[0]
    job = store.get_job(ensemble.id)
    assert job.status == "completed", (job.error, out)
    [trial] = store.list_trials(job.id)
    [artifact] = store.list_artifacts(trial.id)
    assert [m["path"] for m in artifact.metrics["members"]] == members and artifact.accuracy is not None


def test_a_killed_foreground_run_is_marked_stopped_and_resumes(store, spec, capsys):
    """`ferlab train` in a terminal that is killed (or a session that ends) leaves no job "running"
    for ever: the next ferlab command or page finds its process gone, marks the job failed with how
    to resume, keeps its epochs, and `--resume` takes it up from the last checkpoint."""
    import json

    from ferlab.cli import main
    from ferlab.runner import reap_foreground
    from tests.helpers import cli

    run = ("import json, sys; from ferlab.store import Store; from ferlab.training.fit import train; "
           "from ferlab.training.spec import TrainSpec; train(Store(), TrainSpec.from_dict(json.loads(sys.argv[1])))")
    proc = subprocess.Popen([sys.executable, "-c", run, json.dumps(replace(spec, epochs=30).to_dict())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)   # `ferlab train` with a tiny model
    try:
        job = wait_for(lambda: next(iter(store.list_jobs()), None), 120, "the foreground job")
        trial = wait_for(lambda: next(iter(store.list_trials(job.id)), None), 120, "its trial")
        wait_for(lambda: store.count_epochs(trial.id) >= 2, 240, "two epochs")
    finally:
        proc.kill()
        proc.wait()
    kept = store.count_epochs(trial.id)
    assert store.get_job(job.id).status == "running"       # nothing has looked yet

    assert main(["jobs", "list"]) == 0 and "failed" in capsys.readouterr().out.splitlines()[1]
    stopped = store.get_job(job.id)
    assert stopped.status == "failed" and f"ferlab train --resume {job.id}" in stopped.error
    assert store.list_trials(job.id)[0].status == "interrupted" and store.count_epochs(trial.id) == kept

    other = store.create_job("train", {"data": spec.data}, status="running", worker="foreground:elsewhere:1")
    mine = store.create_job("train", spec.to_dict(), status="running",
                            worker=f"foreground:{socket.gethostname()}:{os.getpid()}")
    assert reap_foreground(store) == []   # another host's, and a live process's, are left alone
    assert {store.get_job(j.id).status for j in (other, mine)} == {"running"}
    assert main(["train", "--resume", str(mine.id)]) == 2   # a live process runs it: no second one on it
    assert f"job {mine.id} is running" in capsys.readouterr().err
    for j in (other, mine):
        store.set_job_status(j.id, "cancelled")

    resumed = cli("train", "--resume", job.id, "--json")      # `ferlab train --resume`, in this process
    assert resumed.returncode == 0, resumed.stderr
    done = store.get_job(job.id)
    assert done.status == "completed" and done.worker.startswith("foreground:")
    assert store.count_epochs(trial.id) == 30
