"""`ferlab data ...` and `ferlab db ...`: imported data sets and the store's schema and seed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ferlab.cli.common import open_store


def cmd_data_import(args) -> int:
    from tqdm import tqdm

    from ferlab.data import import_dataset
    from ferlab.data.dataset import describe_counts
    from ferlab.data.readers import count_files

    store = open_store()
    path = Path(args.path).expanduser()
    total = count_files(path) if path.exists() else 0
    with tqdm(total=total or None, unit="img", desc=f"reading {path.name}", file=sys.stderr,
              disable=args.quiet) as bar:
        report = import_dataset(store, path, args.name, val_fraction=args.val_fraction,
                                seed=args.seed, progress=bar.update)
    info = report.dataset
    if not report.created:
        print(f"{path} is already imported as {info.name!r} (no change)")
        return 0
    print(f"imported {info.name!r} from {info.source} ({info.layout})")
    if info.val_from_train:
        print(f"val: a stratified {info.val_fraction:.0%} of train (seed {info.seed})")
    print(describe_counts(info.counts))
    if report.problems:
        print(f"\nskipped {len(report.problems)} item(s):")
        for p in report.problems[:20]:
            print(f"  {p}")
        if len(report.problems) > 20:
            print(f"  ... and {len(report.problems) - 20} more (`ferlab data show {info.name}`)")
    return 0


def cmd_data_list(args) -> int:
    from ferlab.data import ensure_demo

    store = open_store()
    ensure_demo(store)
    print(f"{'name':<20}{'train':>8}{'val':>8}{'test':>8}  layout / source")
    for d in store.list_datasets():
        sizes = d.split_sizes()
        mark = "  [synthetic demo set]" if d.synthetic else ""
        print(f"{d.name:<20}" + "".join(f"{sizes.get(s, 0):>8,}" for s in ("train", "val", "test"))
              + f"  {d.layout} {d.source}{mark}")
    return 0


def cmd_data_show(args) -> int:
    from ferlab.data import DEMO_NAME, ensure_demo
    from ferlab.data.dataset import describe_counts

    store = open_store()
    d = ensure_demo(store) if args.name == DEMO_NAME else store.get_dataset(args.name)
    print(f"{d.name}: {d.layout} from {d.source}" + (" (SYNTHETIC demo set)" if d.synthetic else ""))
    if d.val_from_train:
        print(f"val: a stratified {d.val_fraction:.0%} of train (seed {d.seed})")
    print(f"cache: {d.cache_path}\n")
    print(describe_counts(d.counts))
    if d.skipped:
        print(f"\nskipped {d.skipped} item(s) at import:")
        for p in d.problems:
            print(f"  {p}")
    return 0


def cmd_data_delete(args) -> int:
    from ferlab.data import delete_dataset

    info, used = delete_dataset(open_store(), args.name)
    print(f"deleted data set {info.name!r} ({info.source}) and its cache file")
    if used:
        print(f"the {len(used)} run(s) trained or evaluated on it keep their records (jobs "
              f"{', '.join(map(str, used))}); import the same faces again to see them on the Leaderboard")
    return 0


def cmd_db_upgrade(args) -> int:
    from ferlab import config
    from ferlab.store.engine import current_revision, head_revision, make_engine, upgrade

    engine = make_engine(config.db_url())
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    print(f"{engine.url.render_as_string()}: schema {before or 'empty'} -> {after}"
          if before != after else f"{engine.url.render_as_string()}: schema already at {head_revision(engine)}")
    return 0


def cmd_db_current(args) -> int:
    from ferlab import config
    from ferlab.store.engine import current_revision, head_revision, make_engine

    engine = make_engine(config.db_url())
    print(f"{engine.url.render_as_string()}: schema {current_revision(engine) or 'empty'} "
          f"(this ferlab: {head_revision(engine)})")
    return 0


def cmd_db_seed(args) -> int:
    from ferlab.store.reference import seed

    n = seed(open_store())
    print(f"added {n} reference run(s)" if n else "the store already holds every shipped reference run")
    return 0


def cmd_db_export_reference(args) -> int:
    from ferlab.store.reference import export_runs

    def pairs(items):
        out = {}
        for item in items or []:
            job, _, value = item.partition(":")
            if not job.isdigit() or not value:
                raise ValueError(f"{item!r}: expected JOB:VALUE")
            out[int(job)] = value
        return out

    commands, models = pairs(args.run), pairs(args.model)
    doc = export_runs(open_store(), list(commands), commands, models, ran_on=args.machine)
    out = Path(args.out)
    if args.append and out.exists():  # keep the runs already shipped, as they were written
        try:
            shipped = json.loads(out.read_text())["runs"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{out} is not a reference-run file (no `runs` list); fix or move it, or "
                             "write a new file without --append") from None
        # a run exported again replaces its old entry in place: the seed's order (and so the job
        # numbers a fresh store gives the runs, which commands like `--init-from 1` name) stays
        new = {run["key"]: run for run in doc["runs"]}
        exported = set(new)
        doc["runs"] = ([new.pop(run["key"], run) for run in shipped]) + list(new.values())
        # one shipped file, one run: a run whose model file is now another run's keeps its evaluation only
        for run in doc["runs"]:
            for ev in (ev for t in run["trials"] for ev in t["evaluations"]):
                if run["key"] not in exported and ev.get("model") in set(models.values()):
                    print(f"{run['key']}: {ev['model']} is now the model of another run; this run keeps its "
                          "evaluation without a model file")
                    ev["model"] = None
    out.write_text(json.dumps(doc, indent=1))
    print(f"wrote {len(doc['runs'])} run(s) to {args.out}")
    return 0
