"""`ferlab jobs ...` and `ferlab worker`: the queue and the records of every run."""

from __future__ import annotations

import json

from ferlab.cli.common import open_store


def cmd_jobs_list(args) -> int:
    from ferlab.runner.jobs import changed_from_preset, seconds_left
    from ferlab.training.spec import EnsembleSpec

    store = open_store()
    print(f"{'job':>5} {'kind':<9}{'status':<11}{'epochs':>8} {'best val':>9} {'left':>6}  {'worker':<28}data / preset")
    for x in store.job_summaries(status=args.status, limit=args.limit):
        job = x.job
        best = f"{x.best_val_accuracy:.4f}" if x.best_val_accuracy is not None else "-"   # an ensemble has no epochs
        seconds = seconds_left(x)
        left = "{}:{:02d}".format(*divmod(round(seconds / 60), 60)) if seconds else "-"     # h:mm, a running job's
        what = (job.spec.get("preset") or job.spec.get("space", {}).get("architecture")
                or (EnsembleSpec.label_of(job.spec) if job.kind == "ensemble" else ""))
        if job.kind == "train" and changed_from_preset(job.spec):
            what += " (modified)"
        print(f"{job.id:>5} {job.kind:<9}{job.status:<11}{x.epochs:>8} {best:>9} {left:>6}  "
              f"{(job.worker or '-')[:27]:<28}{job.spec.get('data')} / {what}")
    return 0


def cmd_jobs_show(args) -> int:
    store = open_store()
    job = store.get_job(args.job)
    print(f"job {job.id}: {job.kind}, {job.status}" + (" (cancel requested)" if job.cancel_requested else ""))
    print(f"worker {job.worker or '-'}, attempts {job.attempts}, created {job.created_at:%Y-%m-%d %H:%M:%S}, "
          f"heartbeat {job.heartbeat_at or '-'}")
    print(f"ran on: {job.ran_on or '(not recorded)' if job.status != 'queued' else '(not started)'}")
    print(f"spec: {json.dumps(job.spec)}")
    from ferlab.runner.jobs import command_line, format_duration, planned_epochs, seconds_left

    if job.status == "running":
        x = next((x for x in store.job_summaries(status="running") if x.job.id == job.id), None)
        left = seconds_left(x) if x else None
        if left:
            print(f"{x.epochs} of {planned_epochs(job)} epochs done, {x.epoch_seconds:.0f} s an epoch: "
                  f"about {format_duration(left)} left")

    command = command_line(job.kind, job.spec)
    if command:
        print(f"command{' it was run with' if job.origin == 'reference' else ''}: {command}")
    if job.kind == "ensemble" or job.spec.get("init_from"):
        _print_lineage(store, job)
    for t in store.list_trials(job.id):
        best = f"{t.best_val_accuracy:.4f} at epoch {t.best_epoch}" if t.best_val_accuracy is not None else "-"
        print(f"  trial {t.number}: {t.status}, {store.count_epochs(t.id)} epochs, best val {best}, "
              f"{t.params or 0:,} parameters")
    for a in [a for t in store.list_trials(job.id) for a in store.list_artifacts(t.id)]:
        where = a.path or "(a reference run's model, not shipped)"
        print(f"  model {where}: {a.split} accuracy {a.accuracy:.4f}")
    _print_stored_evaluation(store, job.id)
    from ferlab.runner.jobs import best_checkpoint

    checkpoint = best_checkpoint(store, job.id)
    if checkpoint:
        print(f"  no model yet; {checkpoint.describe()}: {checkpoint.path} (`ferlab export {job.id} FILE.keras` "
              f"makes a model of it{'' if job.status == 'running' else f'; `ferlab train --resume {job.id}` goes on'})")
    if job.error:
        print(f"error:\n{job.error}")
    return 0


def _print_lineage(store, job) -> None:
    """The runs whose epochs made this model, an ensemble's or a warm start's, and what they cost
    together (as the Leaderboard counts it)."""
    from ferlab.runner.jobs import model_lineages, runs_cost

    summaries = store.job_summaries()
    runs = model_lineages(store, [x for x in summaries if x.job.id == job.id]).get(job.id)
    if runs is None:
        print("made from models this store cannot trace back to all of their runs")
        return
    epochs, hours, machines = runs_cost(runs, {x.job.id: x for x in summaries})
    print(f"trained from random weights by job(s) {', '.join(map(str, runs))}: {epochs or 0:,} epochs"
          + (f" and {hours:.2f} h of epochs" if hours else "") + " in all" + (f", on {machines}" if machines else ""))


def _print_stored_evaluation(store, job_id: int) -> None:
    """The per-class table and confusion matrix stored when the job's best model was evaluated."""
    from ferlab.training.report import EvalResult, format_report

    evaluation = store.evaluations([job_id]).get(job_id)
    views = {k: (evaluation.metrics or {}).get(k) for k in ("plain", "tta")} if evaluation else {}
    if not isinstance(views.get("plain"), dict):
        return
    print(f"\n{evaluation.split} split of {evaluation.dataset}, as stored when the model was evaluated:")
    print(format_report(EvalResult.from_dict(views["plain"])))
    if isinstance(views.get("tta"), dict):
        tta = EvalResult.from_dict(views["tta"])
        print(f"\nwith flip TTA: accuracy {tta.accuracy:.4f}, macro F1 {tta.macro_f1:.4f}")


def cmd_jobs_attach(args) -> int:
    from ferlab.training.attach import attach_model

    done = attach_model(open_store(), args.job, args.model)
    print(f"job {done.job_id}: model {done.path} attached; here it scores {done.measured.accuracy:.4f} "
          f"({done.measured_tta.accuracy:.4f} with flip TTA) where the run recorded {done.recorded:.4f}; "
          f"{done.moved} face(s) predicted otherwise")
    return 0


def cmd_jobs_compare(args) -> int:
    """Per-epoch values of one metric for several runs side by side, and what sets them apart."""
    from ferlab.runner.jobs import spec_differences

    store = open_store()
    jobs = [store.get_job(j) for j in args.jobs]
    series = {}
    for job in jobs:
        trials = store.list_trials(job.id)
        if len(trials) != 1:
            raise ValueError(f"job {job.id} has {len(trials)} trials; compare training runs (one trial each), "
                             "or see a tuning job's trials with `ferlab jobs show`")
        series[job.id] = {e.epoch: getattr(e, args.metric) for e in store.epochs([trials[0].id])}
    differ = spec_differences([job.spec for job in jobs])
    print("runs differ in: " + (", ".join(k for k, _ in differ) if differ else "nothing (the same spec)"))
    for i, job in enumerate(jobs):
        print(f"  job {job.id}: " + ", ".join(f"{k}={values[i]}" for k, values in differ))
    digits = 1 if args.metric == "seconds" else 6 if args.metric == "learning_rate" else 4

    def row(label, cells) -> str:
        return f"{label:>5}" + "".join(f"{v:>10.{digits}f}" if v is not None else f"{'-':>10}" for v in cells)

    print(f"\n{args.metric}\n{'epoch':>5}" + "".join(f"{'job ' + str(j):>10}" for j in series))
    for epoch in sorted({e for values in series.values() for e in values}):
        print(row(epoch, (series[j].get(epoch) for j in series)))
    if "accuracy" in args.metric or "loss" in args.metric:
        pick = min if "loss" in args.metric else max
        print(row("best", (pick((v for v in values.values() if v is not None), default=None)
                           for values in series.values())))
    return 0


def cmd_jobs_cancel(args) -> int:
    job = open_store().request_cancel(args.job)
    print(f"job {job.id}: " + ("cancelled" if job.status == "cancelled" else
                               "cancel requested; it stops after the current epoch" if job.cancel_requested
                               else f"already {job.status}"))
    return 0


def cmd_jobs_retry(args) -> int:
    from ferlab.runner import ensure_worker

    store = open_store()
    job = store.retry_job(args.job)
    pid = ensure_worker(store) if not args.no_worker else None
    print(f"job {job.id} queued again; it resumes from its last checkpoint"
          + (f" (started a worker, pid {pid})" if pid else ""))
    return 0


def cmd_jobs_delete(args) -> int:
    from ferlab.runner import delete_job, dependents

    store = open_store()
    for job_id in args.jobs:
        used = dependents(store, job_id)
        if used and not args.force:
            raise ValueError(f"job {job_id}'s model is used: {'; '.join(used)}. Those jobs keep their own "
                             "models, but their records would name a deleted one: add --force to delete it anyway")
        job, folder = delete_job(store, job_id)
        print(f"deleted job {job.id} ({job.kind}, {job.status})" + (f" and its folder {folder}" if folder else ""))
    return 0


def cmd_jobs_log(args) -> int:
    from ferlab.runner import no_log_reason, tail

    job = open_store().get_job(args.job)
    print(tail(job.log_path, args.lines) or no_log_reason(job))
    return 0


def cmd_worker(args) -> int:
    import signal

    from ferlab.runner import Worker

    worker = Worker(open_store())
    signal.signal(signal.SIGTERM, worker.stop)
    print(f"[worker {worker.name}] waiting for jobs on {worker.store.url}", flush=True)
    n = worker.run(once=args.once, max_jobs=args.max_jobs, idle_exit=args.idle_exit)
    print(f"[worker {worker.name}] ran {n} job(s); exiting", flush=True)
    return 0
