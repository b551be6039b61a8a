"""Experiment forms: widgets -> TrainSpec / TuneSpec, with each field's error shown beside it."""

from __future__ import annotations

import os
from dataclasses import replace

import streamlit as st

from ferlab.inference.models import ModelChoice, member_count
from ferlab.models.config import ARCHITECTURES, DEFAULTS
from ferlab.models.search import Range, SearchSpace
from ferlab.runner import ensure_worker, submit
from ferlab.runner.jobs import estimate, format_duration
from ferlab.store import Store
from ferlab.training.spec import (AUGMENTATIONS, OPTIMIZERS, PRESETS, SCHEDULES, EnsembleSpec, TrainSpec,
                                  TuneSpec)

BATCH_SIZES = (32, 64, 128)
AUGMENTATION_LABELS = {"paper": "the paper's (zoom, rotation, shifts, flip)",
                       "paper-erasing": "the paper's + random erasing",
                       "strong": "zoom and shifts 0.2 + random erasing (long runs)",
                       "none": "none"}


def _field_error(errors: dict, *keys: str) -> None:
    for key in keys:
        if key in errors:
            st.error(errors[key], icon=":material/error:")


# Widgets that show a preset's recipe (key -> the preset's value); picking another preset shows its.
RECIPE_FIELDS = {
    "train_arch": lambda spec: spec.model.architecture,
    "train_optimizer": lambda spec: spec.optimizer,
    "train_lr": lambda spec: spec.learning_rate,
    "train_schedule": lambda spec: spec.schedule,
    "train_warmup": lambda spec: spec.warmup_epochs,
    "train_weight_decay": lambda spec: spec.weight_decay,
    "train_label_smoothing": lambda spec: spec.label_smoothing,
    "train_epochs": lambda spec: spec.epochs,
    "train_augmentation": lambda spec: spec.augmentation,
}


def _default_preset(data: str) -> str:
    return "demo-quick" if data == "demo" else "paper-8conv-adam"


def _show_preset() -> None:
    """On a new preset: its recipe in the widgets ("custom" starts from what they show)."""
    preset = PRESETS.get(st.session_state["train_preset"])
    if preset is not None:
        for key, value in RECIPE_FIELDS.items():
            st.session_state[key] = value(preset)


def _new_data() -> None:
    """Another data set: its default preset (the demo set's quick one, the paper's for FER2013)."""
    st.session_state["train_preset"] = _default_preset(st.session_state["train_data"])
    _show_preset()


def train_form(datasets: list[str], models=()) -> tuple[TrainSpec, dict]:
    """`models`: trained models (ModelChoice) a run may start from instead of random weights."""
    data = st.selectbox("Data set", datasets, key="train_data", on_change=_new_data)
    default = _default_preset(data)
    choice = st.selectbox("Preset", [*PRESETS, "custom"], index=list(PRESETS).index(default), key="train_preset",
                          on_change=_show_preset)
    base = PRESETS.get(choice, PRESETS[default])
    for key, value in RECIPE_FIELDS.items():   # first render: the preset's recipe
        st.session_state.setdefault(key, value(base))
    fixed = choice != "custom"   # a preset's recipe is shown as it is; "custom" makes it editable
    left, right = st.columns(2)
    arch = left.selectbox("Model", ARCHITECTURES, disabled=fixed, key="train_arch")
    optimizer = right.selectbox("Optimizer", OPTIMIZERS, disabled=fixed, key="train_optimizer")
    lr = left.number_input("Learning rate", format="%.5f", step=1e-4, disabled=fixed, key="train_lr")
    batch = right.selectbox("Batch size", BATCH_SIZES, index=BATCH_SIZES.index(base.batch_size))
    schedule = left.selectbox("Schedule", SCHEDULES, disabled=fixed, key="train_schedule",
                              help="cosine: decays the learning rate to 0 after the warm-up")
    warmup = right.number_input("Warm-up epochs", step=1, disabled=fixed, key="train_warmup")
    decay = left.number_input("Weight decay", format="%.5f", step=1e-4, disabled=fixed, key="train_weight_decay")
    smoothing = right.number_input("Label smoothing", format="%.2f", step=0.05, disabled=fixed,
                                   key="train_label_smoothing")
    epochs = left.number_input("Epochs", step=1, key="train_epochs")
    seed = right.number_input("Seed", value=base.seed, step=1, key="train_seed")
    augmentation = st.selectbox("Augmentation", AUGMENTATIONS, key="train_augmentation",
                                format_func=AUGMENTATION_LABELS.get)
    start = st.selectbox("Start from", [None, *models], key="train_init",
                         format_func=lambda m: "random weights (from scratch)" if m is None else m.label,
                         help="A warm restart: this run's schedule from a trained model's weights. "
                              "The model must have the same architecture and filters.")
    members = member_count(start.path) if start else 1
    member = st.selectbox("Ensemble member", range(1, members + 1), key="train_init_member",
                          help="This model averages several; a run starts from the weights of one of them.") \
        if members > 1 else None
    teacher = st.selectbox("Learn from (distillation)", [None, *models], key="train_teacher",
                           format_func=lambda m: "the true labels only" if m is None else m.label,
                           help="Knowledge distillation: a trained model (an ensemble, usually) labels every "
                                "training face once, and the run fits a mix of the true label and its "
                                "probabilities. Any architecture can teach.")
    weight = st.slider("Teacher's share of each target", 0.05, 1.0, 0.5, 0.05, key="train_teacher_weight") \
        if teacher else TrainSpec.distill_weight
    spec = replace(base, data=data, batch_size=int(batch), epochs=int(epochs), seed=int(seed),
                   augmentation=augmentation, preset=choice if fixed else None,
                   init_from=start.path if start else None, init_member=member,
                   distill_from=teacher.path if teacher else None, distill_weight=float(weight))
    if not fixed:
        model = DEFAULTS[arch] if arch != base.model.architecture else base.model
        spec = replace(spec, model=model, optimizer=optimizer, learning_rate=float(lr), schedule=schedule,
                       warmup_epochs=int(warmup), weight_decay=float(decay), label_smoothing=float(smoothing))
    errors = spec.errors()
    _field_error(errors, "epochs", "batch_size", "learning_rate", "warmup_epochs", "weight_decay",
                 "label_smoothing", "model", "data")
    return spec, errors


def _range(label: str, default: Range, integer: bool, key: str) -> Range:
    cols = st.columns([2, 1, 1, 1])
    cols[0].markdown(f"**{label}**")
    kind = (lambda v: int(v)) if integer else float
    fmt = None if integer else "%.2f"
    values = [c.number_input(n, value=kind(getattr(default, n)), key=f"{key}_{n}", format=fmt,
                             step=kind(default.step)) for c, n in zip(cols[1:], ("min", "max", "step"))]
    return Range(*values)


def tune_form(datasets: list[str]) -> tuple[TuneSpec, dict]:
    data = st.selectbox("Data set", datasets, key="tune_data")
    left, mid, right = st.columns(3)
    arch = left.selectbox("Model", ("8conv", "5conv", "4conv"))
    algorithm = mid.selectbox("Search", ("random", "hyperband"), help="Hyperband stops bad trials early")
    trials = right.number_input("Max trials", value=10, step=1, disabled=algorithm == "hyperband")
    epochs = left.number_input("Epochs per trial", value=20, step=1)
    seed = mid.number_input("Seed", value=1, step=1, key="tune_seed")
    st.caption("Search space (the paper's ranges; checked as you type)")
    paper = SearchSpace()
    space = SearchSpace(
        architecture=arch,
        first_filters=_range("First conv filters", paper.first_filters, True, "ff"),
        other_filters=_range("Other conv filters", paper.other_filters, True, "of"),
        conv_dropout=_range("Conv dropout", paper.conv_dropout, False, "cd"),
        dense_dropout=_range("Dense dropout", paper.dense_dropout, False, "dd"),
        optimizers=tuple(st.multiselect("Optimizers", ("adam", "sgd"), default=["adam"])),
        learning_rates=tuple(float(v) for v in st.multiselect("Learning rates", (1e-4, 3e-4, 1e-3, 1e-2),
                                                              default=[1e-4])),
        batch_sizes=tuple(st.multiselect("Batch sizes", BATCH_SIZES, default=[32])))
    spec = TuneSpec(data=data, space=space, algorithm=algorithm, max_trials=int(trials),
                    epochs_per_trial=int(epochs), seed=int(seed))
    errors = spec.errors()
    for key, message in errors.items():
        st.error(f"{key.removeprefix('space.').replace('_', ' ')}: {message}", icon=":material/error:")
    return spec, errors


def _members(model: ModelChoice) -> list[ModelChoice]:
    """One choice per model that the ensemble `model` averages ("FILE#K"); none for a single model."""
    n = member_count(model.path)
    return [ModelChoice(f"{model.label}: model {k} of {n}", f"{model.path}#{k}", None, model.synthetic)
            for k in range(1, n + 1)] if n > 1 else []


def ensemble_form(datasets: list[str], models=()) -> tuple[EnsembleSpec, dict]:
    """`models`: trained models (ModelChoice) to average; the result is evaluated on `data`."""
    data = st.selectbox("Data set", datasets, key="ensemble_data",
                        help="evaluated on its test split (val where there is none)")
    choices = [c for m in models for c in (m, *_members(m))]
    picked = st.multiselect("Models to average", choices, key="ensemble_members",
                            format_func=lambda m: m.label, placeholder="two or more trained models",
                            help="An ensemble counts as all the models it averages; pick \"model K of N\" "
                                 "to take one of them alone.")
    flip = st.checkbox("Average with mirror images", key="ensemble_flip",
                       help="Each model also sees the face's mirror image and the two are averaged: flip "
                            "test-time augmentation saved inside the model, so Predict and every caller get "
                            "it, at twice the computation per face. One model is then enough.")
    spec = EnsembleSpec(data=data, members=tuple(m.path for m in picked), flip=flip)
    errors = spec.errors()
    if picked:
        _field_error(errors, "members")
    if any(m.synthetic for m in picked) and data != "demo":
        st.warning("A model trained on the SYNTHETIC demo set says nothing about FER2013.")
    return spec, errors


def duration_caption(store: Store, spec: TrainSpec) -> None:
    """About how long the run would take here, where this machine has run the same model before."""
    found = estimate(store.job_summaries(), spec.to_dict())
    if found:
        st.caption(f"About {format_duration(found.seconds)} on this machine: {found.epoch_seconds:,.0f} s an epoch "
                   f"in {found.jobs} (the same model, batch size, precision "
                   f"and data set, on a machine like this one: the same CPU, cores and GPUs"
                   f"{'; median' if len(found.basis) > 1 else ''}), times {spec.epochs:,} epochs.")


def submit_job(store: Store, kind: str, spec) -> None:
    """Queue the job and start a worker when none is alive (FERLAB_AUTOSTART_WORKER=0: never)."""
    job = submit(store, kind, spec.to_dict())
    pid = ensure_worker(store) if os.environ.get("FERLAB_AUTOSTART_WORKER", "1") != "0" else None
    st.success(f"Queued job {job.id}." + (f" Started a worker (pid {pid})." if pid else ""))
