"""The `ferlab` command line: every command, its arguments and help."""

from __future__ import annotations

import argparse

from ferlab.cli.data import (cmd_data_delete, cmd_data_import, cmd_data_list, cmd_data_show, cmd_db_current,
                             cmd_db_export_reference, cmd_db_seed, cmd_db_upgrade)
from ferlab.cli.jobs import (cmd_jobs_attach, cmd_jobs_cancel, cmd_jobs_compare, cmd_jobs_delete, cmd_jobs_list,
                             cmd_jobs_log, cmd_jobs_retry, cmd_jobs_show, cmd_worker)
from ferlab.cli.predict import cmd_evaluate, cmd_predict
from ferlab.cli.runs import cmd_ensemble, cmd_export, cmd_train, cmd_tune
from ferlab.labels import CLASSES


def build_parser() -> argparse.ArgumentParser:
    from ferlab.training.spec import AUGMENTATIONS, OPTIMIZERS, PRECISIONS, PRESETS, SCHEDULES

    p = argparse.ArgumentParser(prog="ferlab", description="Facial emotion recognition experiments "
                                f"on FER2013 ({', '.join(CLASSES)}).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="import, list, show and delete data sets")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    imp = dsub.add_parser("import", help="read, validate and cache a FER2013 source (csv, folders, zip)")
    imp.add_argument("path", help="fer2013.csv, a folder with train/ and val/ or test/, or a .zip")
    imp.add_argument("--name", help="name to register it under (default: from the path)")
    imp.add_argument("--val-fraction", type=float, default=0.1,
                     help="share of train held out as val when the layout has no val (default 0.1)")
    imp.add_argument("--seed", type=int, default=1234, help="seed of that split (default 1234)")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(fn=cmd_data_import)
    dsub.add_parser("list", help="imported data sets").set_defaults(fn=cmd_data_list)
    show = dsub.add_parser("show", help="splits and per-class counts of one data set")
    show.add_argument("name")
    show.set_defaults(fn=cmd_data_show)
    rm = dsub.add_parser("delete", help="remove an imported data set and its cache (runs keep their records)")
    rm.add_argument("name")
    rm.set_defaults(fn=cmd_data_delete)

    db = sub.add_parser("db", help="the store's schema")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dbsub.add_parser("upgrade", help="migrate the store to this version's schema").set_defaults(fn=cmd_db_upgrade)
    dbsub.add_parser("current", help="the store's schema version").set_defaults(fn=cmd_db_current)
    dbsub.add_parser("seed", help="add the shipped reference runs (a new store gets them by itself)"
                     ).set_defaults(fn=cmd_db_seed)
    ex = dbsub.add_parser("export-reference", help="write finished runs as a reference-run file")
    ex.add_argument("--run", action="append", required=True, metavar="JOB:COMMAND",
                    help="a job and the exact command that produced it (repeat)")
    ex.add_argument("--model", action="append", metavar="JOB:PATH", help="a shipped model file of that job")
    ex.add_argument("--out", default="ferlab/assets/reference_runs.json")
    ex.add_argument("--append", action="store_true", help="keep the runs the file already holds")
    ex.add_argument("--machine", help="the machine the runs ran on, for runs that did not record it "
                    "(default: the machine each run recorded, else this machine)")
    ex.set_defaults(fn=cmd_db_export_reference)

    tr = sub.add_parser("train", help="train a model from a preset (foreground)")
    tr.add_argument("--preset", default="paper-8conv-adam", choices=sorted(PRESETS))
    tr.add_argument("--data", default="demo", help="imported data set name, a path, or `demo`")
    tr.add_argument("--epochs", type=int)
    tr.add_argument("--seed", type=int)
    tr.add_argument("--batch-size", type=int)
    tr.add_argument("--precision", choices=PRECISIONS)
    tr.add_argument("--learning-rate", type=float, help="peak learning rate (default: the preset's)")
    tr.add_argument("--warmup-epochs", type=int, help="epochs of linear warm-up (default: the preset's)")
    tr.add_argument("--augmentation", choices=AUGMENTATIONS,
                    help="paper: the paper's; paper-erasing: the paper's plus random erasing; strong: zoom and shifts "
                    "0.2 plus random erasing, for long runs (default: the preset's)")
    tr.add_argument("--optimizer", choices=OPTIMIZERS, help="adam, or sgd (Nesterov momentum 0.9) "
                    "(default: the preset's; e.g. --preset paper-5conv-adam --optimizer sgd trains the "
                    "paper's 5-conv model with SGD)")
    tr.add_argument("--schedule", choices=SCHEDULES, help="constant, or cosine decay to 0 after the warm-up "
                    "(default: the preset's)")
    tr.add_argument("--weight-decay", type=float, help="decoupled weight decay, in [0, 0.1) (default: the preset's)")
    tr.add_argument("--label-smoothing", type=float, help="in [0, 0.5) (default: the preset's)")
    tr.add_argument("--init-from", metavar="MODEL", help="start from the weights of a .keras file, or of the "
                    "model a job trained (its number): a warm restart with this run's schedule")
    tr.add_argument("--init-member", type=int, metavar="K", help="with --init-from an ensemble: start from its "
                    "K-th model (1, 2, ...), e.g. one of the shipped default model's")
    tr.add_argument("--distill-from", metavar="MODEL", help="knowledge distillation: mix this model's "
                    "probabilities (a .keras file or a job's model, e.g. an ensemble) into the training targets")
    tr.add_argument("--distill-weight", type=float, metavar="W",
                    help="with --distill-from: the teacher's share of each target, in (0, 1] (default 0.5)")
    tr.add_argument("--resume", type=int, metavar="JOB", help="resume an interrupted job from its last checkpoint")
    tr.add_argument("--background", action="store_true", help="queue it for a worker instead (starts one if none runs)")
    tr.add_argument("--json", action="store_true", help="print the result as JSON")
    tr.set_defaults(fn=cmd_train)

    tu = sub.add_parser("tune", help="keras-tuner search over the paper's space (foreground)")
    tu.add_argument("--model", default="8conv", choices=("4conv", "5conv", "8conv"))
    tu.add_argument("--data", default="demo", help="imported data set name, a path, or `demo`")
    tu.add_argument("--algorithm", default="random", choices=("random", "hyperband"),
                    help="random: RandomSearch over --trials; hyperband: stops bad trials early")
    tu.add_argument("--trials", type=int, default=10, help="max trials (RandomSearch)")
    tu.add_argument("--epochs-per-trial", type=int, default=20)
    tu.add_argument("--first-filters", metavar="MIN:MAX:STEP", help="default 32:256:32")
    tu.add_argument("--other-filters", metavar="MIN:MAX:STEP", help="default 64:512:64")
    tu.add_argument("--conv-dropout", metavar="MIN:MAX:STEP", help="default 0:0.5:0.05")
    tu.add_argument("--dense-dropout", metavar="MIN:MAX:STEP", help="default 0:0.5:0.05")
    tu.add_argument("--optimizers", help="comma-separated: adam,sgd (default adam)")
    tu.add_argument("--learning-rates", help="comma-separated (default 1e-4)")
    tu.add_argument("--batch-sizes", help="comma-separated: 32,64,128 (default 32)")
    tu.add_argument("--seed", type=int, default=1)
    tu.add_argument("--precision", choices=PRECISIONS, default="auto")
    tu.add_argument("--resume", type=int, metavar="JOB", help="resume an interrupted search")
    tu.add_argument("--verbose", type=int, default=0, choices=(0, 1, 2), help="Keras progress output")
    tu.add_argument("--distributed", action="store_true",
                    help="keras-tuner's distributed mode (one chief, N workers; see docs/scale-out.md)")
    tu.add_argument("--join", type=int, metavar="JOB", help="as a distributed worker, join the chief's job")
    tu.add_argument("--background", action="store_true", help="queue it for a worker instead (starts one if none runs)")
    tu.add_argument("--json", action="store_true")
    tu.set_defaults(fn=cmd_tune)

    jobs = sub.add_parser("jobs", help="queued, running and finished jobs")
    jsub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    jl = jsub.add_parser("list", help="jobs, newest first")
    jl.add_argument("--status", choices=("queued", "running", "completed", "failed", "cancelled"))
    jl.add_argument("--limit", type=int, default=30)
    jl.set_defaults(fn=cmd_jobs_list)
    jc = jsub.add_parser("compare", help="several training runs' epochs side by side, and how their specs differ")
    jc.add_argument("jobs", type=int, nargs="+")
    jc.add_argument("--metric", default="val_accuracy",
                    choices=("val_accuracy", "accuracy", "val_loss", "loss", "learning_rate", "seconds"))
    jc.set_defaults(fn=cmd_jobs_compare)
    jd = jsub.add_parser("delete", help="delete stopped jobs: their epochs, models and checkpoint folders")
    jd.add_argument("jobs", type=int, nargs="+")
    jd.add_argument("--force", action="store_true", help="also a job whose model other jobs started from, "
                    "learned from or average")
    jd.set_defaults(fn=cmd_jobs_delete)
    ja = jsub.add_parser("attach", help="name the model file of a run trained elsewhere (checked against "
                         "the run's recorded evaluation), so ensembles and --init-from can use its number")
    ja.add_argument("job", type=int)
    ja.add_argument("model", help="the run's .keras file")
    ja.set_defaults(fn=cmd_jobs_attach)
    for name, fn, helptext in (("show", cmd_jobs_show, "one job: spec, trials, models, its stored per-class "
                                                        "table, error"),
                               ("cancel", cmd_jobs_cancel, "stop a job after its current epoch"),
                               ("retry", cmd_jobs_retry, "queue a failed or cancelled job again (resumes)"),
                               ("log", cmd_jobs_log, "the tail of a job's log")):
        jp = jsub.add_parser(name, help=helptext)
        jp.add_argument("job", type=int)
        if name == "log":
            jp.add_argument("-n", "--lines", type=int, default=40)
        if name == "retry":
            jp.add_argument("--no-worker", action="store_true", help="do not start a worker")
        jp.set_defaults(fn=fn)

    wk = sub.add_parser("worker", help="run queued jobs (each in a child process)")
    wk.add_argument("--once", action="store_true", help="exit when the queue is empty")
    wk.add_argument("--max-jobs", type=int, help="exit after this many jobs")
    wk.add_argument("--idle-exit", type=float, help="exit after this many idle seconds")
    wk.set_defaults(fn=cmd_worker)

    pr = sub.add_parser("predict", help="emotions of every face in images")
    pr.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER", help="photos, or folders of them (searched "
                    "all the way down)")
    pr.add_argument("--model", help="a .keras model (default: the shipped model, whose card is model-card.md "
                    "beside it in ferlab/assets; else the best in the store)")
    pr.add_argument("--detector", default="hog", choices=("hog", "haar", "cnn"))
    pr.add_argument("--tta", action="store_true", help="average each face with its mirror image")
    pr.add_argument("--whole", action="store_true", help="classify the whole image when no face is found")
    pr.add_argument("--json", action="store_true")
    pr.add_argument("--csv", metavar="FILE.csv", help="also write one row per face (box, label, the seven "
                    "probabilities) to this file, as Predict's download does")
    pr.add_argument("--explain", metavar="FOLDER", help="also write each face's occlusion map for its label to "
                    "this folder (a PNG a face: the face, and red where hiding a part lowers the label's "
                    "probability, blue where it raises it; one model call a face)")
    pr.set_defaults(fn=cmd_predict)

    en = sub.add_parser("ensemble", help="average trained models into one .keras model and evaluate it")
    en.add_argument("members", nargs="+", metavar="MODEL",
                    help="two or more .keras files, or job numbers (their trained model); FILE#K or JOB#K: "
                    "only the K-th model of that ensemble (e.g. the shipped model's second); one is enough with --flip")
    en.add_argument("--flip", action="store_true", help="average each model over the face and its mirror image "
                    "too: flip test-time augmentation saved inside the model (twice the computation per face)")
    en.add_argument("--data", required=True, help="imported data set name, a path, or `demo`: evaluated on its "
                    "test split (val where there is none)")
    en.add_argument("--background", action="store_true", help="queue it for a worker instead (starts one if none runs)")
    en.add_argument("--json", action="store_true")
    en.set_defaults(fn=cmd_ensemble)

    xp = sub.add_parser("export", help="write a model as a .keras file that plain Keras loads without ferlab")
    xp.add_argument("source", help="a .keras file (FILE#K: the K-th model an ensemble averages) or a job number "
                    "(its model; for a run with none yet, cancelled or failed or still running, its best "
                    "checkpoint so far)")
    xp.add_argument("target", help="the new .keras file")
    xp.add_argument("--weights", choices=("float32", "float16"), default="float32",
                    help="float16: half the file, each weight rounded once (the shipped model's storage)")
    xp.add_argument("--compute", choices=("as-trained", "float32"), default="as-trained",
                    help="float32: a model trained in mixed precision computes in float32 (exact anywhere; "
                         "faster on CPUs without bf16 matrix units)")
    xp.add_argument("--force", action="store_true", help="replace TARGET where it exists")
    xp.add_argument("--json", action="store_true")
    xp.set_defaults(fn=cmd_export)

    ev = sub.add_parser("evaluate", help="accuracy, per-class table and confusion matrix of a .keras model")
    ev.add_argument("model")
    ev.add_argument("--data", required=True, help="imported data set name or a path to any FER2013 layout")
    ev.add_argument("--split", choices=("train", "val", "test", "all"),
                    help="default: test, else val; all: every face the data holds (a file of held-out faces "
                         "without a Usage column)")
    ev.add_argument("--tta", nargs="?", const="flip", choices=("flip", "shift"),
                    help="test-time augmentation: flip (the default) averages each face with its mirror image; "
                         "shift also with the face moved 2 pixels each way (10 views)")
    ev.add_argument("--against", metavar="OTHER.keras", help="also score another model on the same faces and say "
                    "whether the difference is more than the split's noise (paired, exact McNemar test)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(fn=cmd_evaluate)
    return p
