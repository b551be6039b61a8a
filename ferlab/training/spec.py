"""What a training run is: a TrainSpec value, checked before anything runs, and named presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from itertools import zip_longest
from pathlib import PurePath

from ferlab.models.config import ARCHITECTURES, DEFAULTS, ModelConfig, member_ref
from ferlab.models.search import ALGORITHMS, SearchSpace

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "cosine")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
AUGMENTATIONS = ("paper", "paper-erasing", "strong", "none")


def _run_errors(spec) -> dict[str, str]:
    """Checks that training and tuning specs share: precision, augmentation, data."""
    e = {}
    if spec.precision not in PRECISIONS:
        e["precision"] = f"unknown precision {spec.precision!r} (choose {', '.join(PRECISIONS)})"
    if spec.augmentation not in AUGMENTATIONS:
        e["augmentation"] = f"unknown augmentation {spec.augmentation!r} (choose {', '.join(AUGMENTATIONS)})"
    if not spec.data:
        e["data"] = "name a data set (`ferlab data list`) or `demo`"
    return e


def _checked(spec, what: str):
    errors = spec.errors()
    if errors:
        raise ValueError(f"invalid {what}: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    return spec


@dataclass(frozen=True)
class TrainSpec:
    data: str = "demo"
    model: ModelConfig = field(default_factory=lambda: DEFAULTS["8conv"])
    optimizer: str = "adam"
    learning_rate: float = 1e-4
    schedule: str = "constant"
    warmup_epochs: int = 0
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    batch_size: int = 32
    epochs: int = 10
    seed: int = 1
    precision: str = "auto"
    augmentation: str = "paper"
    preset: str | None = None
    # A .keras model of the same architecture whose weights the run starts from (a warm restart:
    # a new schedule from a trained model); None starts from random weights.
    init_from: str | None = None
    # When init_from is an ensemble: which of its models (1, 2, ...) to start from.
    init_member: int | None = None
    # Knowledge distillation: a trained .keras model (an ensemble, usually) whose probabilities on
    # the training faces are mixed into the targets with weight distill_weight; None: true labels.
    distill_from: str | None = None
    distill_weight: float = 0.5

    def errors(self) -> dict[str, str]:
        """Field name -> what is wrong with it; empty when the spec is valid."""
        e: dict[str, str] = {}
        if self.model.architecture not in ARCHITECTURES:
            e["model"] = f"unknown architecture {self.model.architecture!r} (choose {', '.join(ARCHITECTURES)})"
        elif len(self.model.filters) != len(DEFAULTS[self.model.architecture].filters):
            e["model"] = (f"{self.model.architecture} needs {len(DEFAULTS[self.model.architecture].filters)} "
                          f"filter counts, got {len(self.model.filters)}")
        elif any(f < 1 or f > 2048 for f in self.model.filters):
            e["model"] = "filter counts must be between 1 and 2048"
        for name in ("conv_dropout", "dense_dropout"):
            if not 0.0 <= getattr(self.model, name) < 1.0:
                e[name] = f"{name.replace('_', ' ')} must be in [0, 1)"
        if self.optimizer not in OPTIMIZERS:
            e["optimizer"] = f"unknown optimizer {self.optimizer!r} (choose {', '.join(OPTIMIZERS)})"
        if not 0.0 < self.learning_rate <= 1.0:
            e["learning_rate"] = "learning rate must be in (0, 1]"
        if self.schedule not in SCHEDULES:
            e["schedule"] = f"unknown schedule {self.schedule!r} (choose {', '.join(SCHEDULES)})"
        if not 1 <= self.batch_size <= 4096:
            e["batch_size"] = "batch size must be between 1 and 4096"
        if not 1 <= self.epochs <= 10000:
            e["epochs"] = "epochs must be between 1 and 10000"
        if self.warmup_epochs < 0:
            e["warmup_epochs"] = "warm-up epochs cannot be negative"
        elif self.warmup_epochs and self.warmup_epochs >= self.epochs:
            e["warmup_epochs"] = "warm-up epochs must be fewer than epochs"
        if not 0.0 <= self.weight_decay < 0.1:
            e["weight_decay"] = "weight decay must be in [0, 0.1)"
        if not 0.0 <= self.label_smoothing < 0.5:
            e["label_smoothing"] = "label smoothing must be in [0, 0.5)"
        if self.init_from is not None and not self.init_from.endswith(".keras"):
            e["init_from"] = f"{self.init_from!r} is not a .keras model file"
        if self.init_member is not None and (self.init_from is None or self.init_member < 1):
            e["init_member"] = ("an ensemble member to start from needs a model to start from (init_from)"
                                if self.init_from is None else "ensemble members are numbered from 1")
        if self.distill_from is not None and not self.distill_from.endswith(".keras"):
            e["distill_from"] = f"{self.distill_from!r} is not a .keras model file"
        if not 0.0 < self.distill_weight <= 1.0:
            e["distill_weight"] = "distillation weight must be in (0, 1] (1: the teacher's probabilities alone)"
        return {**e, **_run_errors(self)}

    def check(self) -> "TrainSpec":
        return _checked(self, "training spec")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainSpec":
        d = dict(d)
        d["model"] = ModelConfig.from_dict(d["model"])
        return cls(**d)


# The paper's final recipes: Adam 1e-4 constant (or SGD-nesterov), batch 32, its augmentation.
PRESETS: dict[str, TrainSpec] = {
    "paper-4conv-baseline": TrainSpec(model=DEFAULTS["4conv"], optimizer="adam", learning_rate=1e-4, epochs=50),
    "paper-5conv-adam": TrainSpec(model=DEFAULTS["5conv"], optimizer="adam", learning_rate=1e-4, epochs=300),
    "paper-8conv-adam": TrainSpec(model=DEFAULTS["8conv"], optimizer="adam", learning_rate=1e-4, epochs=150),
    # The paper gives no SGD learning rate; 0.01 with Nesterov momentum 0.9 is our choice.
    "paper-8conv-sgd": TrainSpec(model=DEFAULTS["8conv"], optimizer="sgd", learning_rate=0.01, epochs=150),
    # For the synthetic demo set: a curve that rises within a minute on a CPU (not a FER2013 recipe).
    "demo-quick": TrainSpec(model=DEFAULTS["compact"], optimizer="adam", learning_rate=1e-3, augmentation="none",
                            epochs=8),
    # ferlab's own recipe for a single CNN from scratch on a CPU budget (see docs/model-card.md).
    "ferlab-compact": TrainSpec(model=DEFAULTS["compact"], optimizer="sgd", learning_rate=0.02,
                                schedule="cosine", warmup_epochs=2,
                                weight_decay=5e-4, label_smoothing=0.1, epochs=60),
    # ferlab's recipe on the paper's 8-conv model, for a GPU: 69.60% and 69.85% PublicTest (70.47% and
    # 70.44% with flip TTA) for two seeds of 200 epochs on an H200, against 68.82-69.35% for 150 epochs
    # (seeded reference runs 39, 40, 25, 26; docs/gpu.md).
    "ferlab-8conv": TrainSpec(model=DEFAULTS["8conv"], optimizer="sgd", learning_rate=0.04, schedule="cosine",
                              warmup_epochs=2, weight_decay=5e-4, label_smoothing=0.1, batch_size=64,
                              augmentation="strong", epochs=200),
}


def preset(name: str, **overrides) -> TrainSpec:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return replace(PRESETS[name], preset=name, **overrides)


@dataclass(frozen=True)
class TuneSpec:
    """A keras-tuner search: RandomSearch (max_trials) or Hyperband (stops bad trials early;
    its budget follows from epochs_per_trial, and max_trials is not used)."""

    data: str = "demo"
    space: SearchSpace = field(default_factory=SearchSpace)
    algorithm: str = "random"
    max_trials: int = 10
    epochs_per_trial: int = 20
    seed: int = 1
    precision: str = "auto"
    augmentation: str = "paper"
    label_smoothing: float = 0.0

    def errors(self) -> dict[str, str]:
        e = {f"space.{k}": v for k, v in self.space.errors().items()}
        if self.algorithm not in ALGORITHMS:
            e["algorithm"] = f"unknown algorithm {self.algorithm!r} (choose {', '.join(ALGORITHMS)})"
        if not 1 <= self.max_trials <= 10000:
            e["max_trials"] = "trials must be between 1 and 10000"
        if not 1 <= self.epochs_per_trial <= 10000:
            e["epochs_per_trial"] = "epochs per trial must be between 1 and 10000"
        if self.algorithm == "hyperband" and self.epochs_per_trial < 2:
            e["epochs_per_trial"] = "Hyperband needs at least 2 epochs per trial"
        return {**e, **_run_errors(self)}

    def check(self) -> "TuneSpec":
        return _checked(self, "tuning spec")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["space"] = self.space.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TuneSpec":
        d = dict(d)
        d["space"] = SearchSpace.from_dict(d["space"])
        return cls(**d)


@dataclass(frozen=True)
class EnsembleSpec:
    """Average the class probabilities of trained models (.keras files, at least two; "FILE#K" is
    the K-th model of the ensemble in FILE) and evaluate the result on `data`'s test split (val
    where there is none). flip: each model also sees the face's mirror image, averaged in (flip
    test-time augmentation inside the saved model; then one model is enough)."""

    data: str = "demo"
    members: tuple[str, ...] = ()
    flip: bool = False

    def errors(self) -> dict[str, str]:
        e = {}
        if len(self.members) < (1 if self.flip else 2):
            e["members"] = ("name a model to average with its mirror image" if self.flip
                            else "an ensemble needs at least two models (or one, with flip)")
        elif len(set(self.members)) != len(self.members):
            e["members"] = "a model is named twice; an ensemble of copies is the model itself"
        else:
            refs = [member_ref(m) for m in self.members]
            bad = [m for m, (path, _) in zip(self.members, refs) if not path.endswith(".keras")]
            if bad:
                e["members"] = f"{bad[0]!r} is not a .keras model file"
            elif any(k == 0 for _, k in refs):
                e["members"] = "ensemble members are numbered from 1 (FILE#1 is the first)"
        if not self.data:
            e["data"] = "name a data set (`ferlab data list`) or `demo`"
        return e

    def check(self) -> "EnsembleSpec":
        return _checked(self, "ensemble spec")

    def label(self, names: list[str | None] = ()) -> str:
        """"ensemble: job-13 + ferlab-default": job-N for a run's model, else the file's name
        (`names`, where given and not None, instead)."""
        refs = [member_ref(m) for m in self.members]
        files = [(PurePath(p).parent.name if PurePath(p).name == "model.keras" else PurePath(p).stem)
                 + (f"#{k}" if k else "") for p, k in refs]
        named = [name or f for f, name in zip_longest(files, names[:len(files)])]
        return f"ensemble: {' + '.join(named)}" + (" (+ mirror images)" if self.flip else "")

    @staticmethod
    def label_of(spec: dict) -> str:
        """An ensemble job's label; a seeded reference ensemble names its members by their job
        numbers in this store ("member_labels"), not by the run folders of the store it was made in."""
        return EnsembleSpec(data=spec.get("data", ""), members=tuple(spec.get("members", ())),
                            flip=bool(spec.get("flip"))).label(spec.get("member_labels") or [])

    def to_dict(self) -> dict:
        return {"data": self.data, "members": list(self.members), "flip": self.flip}

    @classmethod
    def from_dict(cls, d: dict) -> "EnsembleSpec":
        return cls(data=d["data"], members=tuple(d["members"]), flip=bool(d.get("flip", False)))
