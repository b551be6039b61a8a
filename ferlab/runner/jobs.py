"""Submitting jobs: a spec is validated before it is stored as a queued job."""

from __future__ import annotations

import functools
import shutil
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from ferlab import config
from ferlab.store import Store
from ferlab.store import reference
from ferlab.store.entities import MACHINES_JOIN, JobInfo, JobSummary

KINDS = ("train", "tune", "import", "ensemble")


@dataclass(frozen=True)
class ImportSpec:
    """Import a FER2013 source (an upload saved on the server, or a server path)."""

    path: str
    name: str | None = None
    val_fraction: float = 0.1
    seed: int = 1234
    data: str = "demo"  # not a training data set; keeps `submit`'s checks uniform

    def errors(self) -> dict[str, str]:
        e = {}
        if not self.path or not Path(self.path).expanduser().exists():
            e["path"] = f"{self.path or '(empty)'} does not exist on the server"
        if not 0.0 <= self.val_fraction < 1.0:
            e["val_fraction"] = "val fraction must be in [0, 1)"
        return e

    def check(self) -> "ImportSpec":
        errors = self.errors()
        if errors:
            raise ValueError("; ".join(errors.values()))
        return self

    def to_dict(self) -> dict:
        return asdict(self)


def parse_spec(kind: str, spec: dict):
    """The spec value a stored job runs; raises ValueError saying what is wrong."""
    from ferlab.training.spec import EnsembleSpec, TrainSpec, TuneSpec

    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r} (choose {', '.join(KINDS)})")
    parse = {"train": TrainSpec.from_dict, "tune": TuneSpec.from_dict, "import": lambda d: ImportSpec(**d),
             "ensemble": EnsembleSpec.from_dict}[kind]
    try:
        value = parse(spec)
    except (TypeError, KeyError) as e:
        raise ValueError(f"malformed {kind} spec: {e}") from None
    return value.check()


def submit(store: Store, kind: str, spec: dict, *, origin: str = "user", experiment: str | None = None) -> JobInfo:
    """Store a queued job after checking its spec and its data set's existence."""
    parsed = parse_spec(kind, spec)
    if parsed.data != "demo":
        from ferlab.store import NotFound

        try:
            store.get_dataset(parsed.data)
        except NotFound:
            if not Path(parsed.data).expanduser().exists():
                raise
    return store.create_job(kind, parsed.to_dict(), origin=origin, experiment=experiment)


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def dependents(store: Store, job_id: int) -> list[str]:
    """How other jobs use the models of `job_id` ("job 23 learned from it"): they keep their own
    models if it goes, but their records would name a model that no longer exists."""
    from ferlab.models.config import member_ref

    paths = {str(Path(p).resolve()) for p in store.model_paths(job_id)}
    if not paths:
        return []

    def uses(ref) -> bool:
        return bool(ref) and str(Path(member_ref(ref)[0]).resolve()) in paths

    out = []
    for job in store.list_jobs():
        spec = job.spec or {}
        how = [what for what, used in (("started from", uses(spec.get("init_from"))),
                                       ("learned from", uses(spec.get("distill_from"))),
                                       ("averages", any(uses(m) for m in spec.get("members", []))))
               if used]
        if how and job.id != job_id:
            out.append(f"job {job.id} {' and '.join(how)} it")
    return out


def delete_job(store: Store, job_id: int) -> tuple[JobInfo, Path | None]:
    """Delete a stopped job's records and its folder (checkpoints, model, log); returns the job and
    the folder removed (None where there was none on this machine)."""
    job = store.delete_job(job_id)
    folder = config.run_dir(job_id)
    if not folder.is_dir():
        return job, None
    shutil.rmtree(folder)
    return job, folder


@dataclass(frozen=True)
class Checkpoint:
    """A training run's best-val checkpoint so far: the model to use from a run that has saved none."""

    path: Path
    status: str                   # the job's: cancelled, failed, running, queued (requeued)
    epochs: int                   # epochs recorded
    best_epoch: int | None
    best_val_accuracy: float | None

    def describe(self) -> str:
        best = (f"epoch {self.best_epoch}, val accuracy {self.best_val_accuracy:.4f}"
                if self.best_epoch is not None and self.best_val_accuracy is not None else "its best epoch")
        return f"best checkpoint so far ({best}; {self.stopped()})"

    def stopped(self) -> str:
        return f"{self.status} after {self.epochs} epoch{'s' if self.epochs != 1 else ''}"


def best_checkpoint(store: Store, job_id: int) -> Checkpoint | None:
    """The best checkpoint (`best.keras`) of a training run that has no model yet (one cancelled,
    failed, or still running) where it is on this machine; None for other jobs."""
    job = store.get_job(job_id)
    path = config.run_dir(job_id) / "best.keras"
    if job.kind != "train" or job.status == "completed" or store.model_paths(job_id) or not path.is_file():
        return None
    trials = store.list_trials(job_id)
    if not trials:
        return None
    trial = trials[-1]
    return Checkpoint(path, job.status, store.count_epochs(trial.id), trial.best_epoch, trial.best_val_accuracy)


def spec_differences(specs: list[dict]) -> list[tuple[str, list]]:
    """The spec fields (dotted, e.g. `model.architecture`) whose values differ between jobs, each with
    its value per job: what a comparison of their runs actually varies."""
    flat = [_flat(sp) for sp in specs]
    keys = sorted({k for f in flat for k in f} - {"reference_key", "reference_command", "reference_machine",
                                                 "reference_init_from", "reference_distill_from"})
    # a training spec stored before a field existed had, in effect, that field's default
    defaults = _train_defaults()
    values = [(k, [f.get(k, defaults.get(k)) if "optimizer" in f else f.get(k) for f in flat]) for k in keys]
    return [(k, vs) for k, vs in values if len({repr(v) for v in vs}) > 1]


# What a run may set without changing its preset's recipe: the data, its length, its seed, how it
# computes, and where it starts from.
NOT_RECIPE = {"data", "epochs", "seed", "precision", "preset", "init_from", "init_member", "distill_from",
              "distill_weight"}


def changed_from_preset(spec: dict) -> list[str]:
    """The recipe fields (as spec_differences names them) in which a stored training spec departs
    from its preset's: [] for a run of the preset's own recipe, or of no known preset."""
    from ferlab.training.spec import PRESETS, preset

    name = spec.get("preset")
    if name not in PRESETS:
        return []
    own = preset(name, data=spec.get("data", "")).to_dict()
    return [k for k, _ in spec_differences([own, spec]) if k.split(".")[0] not in NOT_RECIPE]


@functools.cache
def _train_defaults() -> dict:
    from dataclasses import MISSING, fields

    from ferlab.training.spec import TrainSpec

    return {f.name: f.default for f in fields(TrainSpec) if f.default is not MISSING}


# --- the shell command of a job ----------------------------------------------------------------

# TrainSpec field -> `ferlab train` flag (--preset and --data are always written)
TRAIN_FLAGS = {"epochs": "--epochs", "seed": "--seed", "batch_size": "--batch-size", "precision": "--precision",
               "optimizer": "--optimizer", "learning_rate": "--learning-rate", "schedule": "--schedule",
               "warmup_epochs": "--warmup-epochs", "weight_decay": "--weight-decay",
               "label_smoothing": "--label-smoothing", "augmentation": "--augmentation",
               "init_from": "--init-from", "init_member": "--init-member", "distill_from": "--distill-from",
               "distill_weight": "--distill-weight"}
ALWAYS = ("epochs", "seed")     # written even where the preset's own: a command that says its length and seed


def planned_epochs(job: JobInfo) -> int:
    """The epochs a job means to run, all trials together (0 where it runs none: an ensemble, an import)."""
    if job.kind == "train":
        return int(job.spec.get("epochs", 0))
    if job.kind == "tune":
        return int(job.spec.get("max_trials", 0)) * int(job.spec.get("epochs_per_trial", 0))
    return 0


def seconds_left(summary: JobSummary) -> float | None:
    """About how long a running job still needs: its epochs yet to run, at the mean pace of those it
    ran (each trial's first left out, which also compiles). None where that cannot be said yet."""
    if summary.job.status != "running" or not summary.epoch_seconds:
        return None
    left = planned_epochs(summary.job) - summary.epochs
    return left * summary.epoch_seconds if left > 0 else None


@dataclass(frozen=True)
class Estimate:
    seconds: float        # the planned epochs at that pace
    epoch_seconds: float  # the pace: median of the basis runs' mean epoch time, first epochs left out
    basis: list[int]      # the jobs it comes from

    @property
    def jobs(self) -> str:
        """'job 7' or 'jobs 8, 10': the runs the pace comes from."""
        return f"job{'s' if len(self.basis) > 1 else ''} {', '.join(map(str, self.basis))}"


def estimate(summaries: list[JobSummary], spec: dict, here: str | None = None) -> Estimate | None:
    """How long a training run of `spec` would take on this machine (`here`: its description, as
    ferlab.config.machine gives it), at the pace of the earlier runs it alone ran of the same model,
    batch size, precision and data set; None where it has run none."""
    here = here or config.machine()
    keys = ("model", "batch_size", "precision", "data")

    def alike(job: JobInfo) -> bool:
        return (job.kind == "train" and len(job.machines) == 1 and job.machines[0].split("; Keras ")[0] == here
                and all(job.spec.get(k) == spec.get(k) for k in keys))

    basis = [x for x in summaries if x.epoch_seconds and alike(x.job)]
    if not basis or not spec.get("epochs"):
        return None
    pace = statistics.median(x.epoch_seconds for x in basis)
    return Estimate(pace * int(spec["epochs"]), pace, sorted(x.job.id for x in basis))


def format_duration(seconds: float) -> str:
    """'3 h 05 min', '12 min', 'under a minute'."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def command_line(kind: str, spec: dict) -> str | None:
    """The `ferlab ...` command that queues the same job again (with --background) or runs it in the
    foreground: what to paste on another machine, a GPU one say. A shipped reference run gives the
    command it was run with. None where no command says it all (a model whose filters no preset has,
    a search with an augmentation the CLI does not set)."""
    import shlex

    if spec.get("reference_command"):
        return spec["reference_command"]
    try:
        words = {"train": _train_words, "tune": _tune_words, "ensemble": _ensemble_words,
                 "import": _import_words}[kind](spec)
    except (KeyError, TypeError, ValueError):
        return None                 # a spec this version cannot read
    return None if words is None else " ".join(shlex.quote(str(w)) for w in words)


def _flag_value(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _train_words(spec: dict) -> list | None:
    from ferlab.training.spec import PRESETS, TrainSpec

    run = TrainSpec.from_dict(spec)
    # its own preset, else the preset of the same model that needs the fewest flags
    names = [run.preset] if run.preset in PRESETS else [n for n, p in PRESETS.items() if p.model == run.model]
    if not names or PRESETS[names[0]].model != run.model:
        return None
    name = min(names, key=lambda n: sum(getattr(PRESETS[n], f) != getattr(run, f) for f in TRAIN_FLAGS))
    base = PRESETS[name]
    words = ["ferlab", "train", "--preset", name, "--data", run.data]
    for field, flag in TRAIN_FLAGS.items():
        value = getattr(run, field)
        if value is None or (field == "distill_weight" and run.distill_from is None):
            continue
        if field in ALWAYS or value != getattr(base, field):
            words += [flag, _flag_value(value)]
    return words


def _tune_words(spec: dict) -> list | None:
    from ferlab.models.search import SearchSpace
    from ferlab.training.spec import TuneSpec

    run, default = TuneSpec.from_dict(spec), TuneSpec()
    if (run.augmentation, run.label_smoothing) != (default.augmentation, default.label_smoothing):
        return None
    space, plain = run.space, SearchSpace(architecture=run.space.architecture)
    words = ["ferlab", "tune", "--model", space.architecture, "--data", run.data, "--algorithm", run.algorithm,
             "--trials", run.max_trials, "--epochs-per-trial", run.epochs_per_trial, "--seed", run.seed]
    if run.precision != default.precision:
        words += ["--precision", run.precision]
    for field in ("first_filters", "other_filters", "conv_dropout", "dense_dropout"):
        r = getattr(space, field)
        if r != getattr(plain, field):
            words += ["--" + field.replace("_", "-"), ":".join(_flag_value(v) for v in (r.min, r.max, r.step))]
    for field in ("optimizers", "learning_rates", "batch_sizes"):
        values = getattr(space, field)
        if tuple(values) != tuple(getattr(plain, field)):
            words += ["--" + field.replace("_", "-"), ",".join(_flag_value(v) for v in values)]
    return words


def _ensemble_words(spec: dict) -> list:
    from ferlab.training.spec import EnsembleSpec

    run = EnsembleSpec.from_dict(spec)
    return ["ferlab", "ensemble", *run.members, "--data", run.data, *(["--flip"] if run.flip else [])]


def _import_words(spec: dict) -> list:
    run, default = ImportSpec(**spec), ImportSpec(path="")
    words = ["ferlab", "data", "import", run.path, *(["--name", run.name] if run.name else [])]
    if run.val_fraction != default.val_fraction:
        words += ["--val-fraction", _flag_value(run.val_fraction)]
    if run.seed != default.seed:
        words += ["--seed", run.seed]
    return words


def model_lineages(store: Store, summaries: list[JobSummary]) -> dict[int, list[int]]:
    """For each model among `summaries` that other runs' epochs went into, the runs (job numbers, each
    once) that trained it from random weights: an ensemble's members, and a run started from another's
    model (--init-from) with that one (`member_jobs`, `lineage_jobs`). Left out where this store
    lacks one of them."""
    made = [x.job for x in summaries if x.job.kind == "ensemble" or x.job.spec.get("init_from")]
    if not made:
        return {}
    owners = reference.model_owners(store)
    by_key = {reference.run_key(j): j for j in store.list_jobs()}
    found = {}
    for job in made:
        try:
            runs = reference.member_jobs(store, job, owners, by_key) if job.kind == "ensemble" else [job]
            found[job.id] = list(dict.fromkeys(j.id for run in runs
                                               for j in reference.lineage_jobs(store, run, owners, by_key)))
        except (ValueError, KeyError):      # a run deleted since, or made in another store
            pass
    return found


def runs_cost(runs: list[int] | None, by_id: dict[int, JobSummary]) -> tuple:
    """Epochs, hours of epochs and machines of these runs together; none where one of them is
    missing, no hours where one is untimed."""
    found = [by_id.get(i) for i in runs or []]
    if not found or None in found:
        return None, None, None
    hours = sum(r.seconds_total for r in found) / 3600 if all(r.seconds_total for r in found) else None
    machines = MACHINES_JOIN.join(dict.fromkeys(m for r in found for m in r.job.machines))
    return sum(r.epochs for r in found) or None, hours, machines or None
