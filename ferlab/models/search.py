"""The tuning search space as a plain value that checks itself (no keras import)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ferlab.models.config import DEFAULTS

TUNABLE = ("4conv", "5conv", "8conv")
ALGORITHMS = ("random", "hyperband")


@dataclass(frozen=True)
class Range:
    min: float
    max: float
    step: float

    def values(self) -> list[float]:
        n = int(round((self.max - self.min) / self.step)) if self.step else 0
        return [round(self.min + i * self.step, 10) for i in range(n + 1)]

    def problems(self, low: float, high: float, integer: bool) -> str | None:
        if integer and not all(float(v).is_integer() for v in (self.min, self.max, self.step)):
            return "min, max and step must be whole numbers"
        if self.min > self.max:
            return f"min ({self.min:g}) is greater than max ({self.max:g})"
        if self.min < low or self.max > high:
            return f"must lie within {low:g}..{high:g}"
        if self.step <= 0:
            return "step must be positive"
        span = (self.max - self.min) / self.step
        if abs(span - round(span)) > 1e-6:
            return f"step {self.step:g} does not fit the range {self.min:g}..{self.max:g}"
        return None


@dataclass(frozen=True)
class SearchSpace:
    """The paper's space by default: first conv 32-256 step 32, the other convs 64-512 step 64,
    conv and dense dropout 0-0.5 step 0.05; optimizer, learning rate and batch size are fixed
    choices (one value) or dimensions (several)."""

    architecture: str = "8conv"
    first_filters: Range = field(default_factory=lambda: Range(32, 256, 32))
    other_filters: Range = field(default_factory=lambda: Range(64, 512, 64))
    conv_dropout: Range = field(default_factory=lambda: Range(0.0, 0.5, 0.05))
    dense_dropout: Range = field(default_factory=lambda: Range(0.0, 0.5, 0.05))
    optimizers: tuple[str, ...] = ("adam",)
    learning_rates: tuple[float, ...] = (1e-4,)
    batch_sizes: tuple[int, ...] = (32,)

    def errors(self) -> dict[str, str]:
        """Field name -> what is wrong; empty when the space is valid."""
        e: dict[str, str] = {}
        if self.architecture not in TUNABLE:
            e["architecture"] = f"unknown model {self.architecture!r} (choose {', '.join(TUNABLE)})"
        for name, low, high, integer in (("first_filters", 1, 2048, True), ("other_filters", 1, 2048, True),
                                         ("conv_dropout", 0.0, 0.95, False), ("dense_dropout", 0.0, 0.95, False)):
            problem = getattr(self, name).problems(low, high, integer)
            if problem:
                e[name] = problem
        unknown = [o for o in self.optimizers if o not in ("adam", "sgd")]
        if not self.optimizers or unknown:
            e["optimizers"] = f"choose from adam, sgd (got {', '.join(unknown) or 'none'})"
        if not self.learning_rates or any(not 0 < lr <= 1 for lr in self.learning_rates):
            e["learning_rates"] = "give one or more learning rates in (0, 1]"
        if not self.batch_sizes or any(b < 1 or b > 4096 or int(b) != b for b in self.batch_sizes):
            e["batch_sizes"] = "give one or more whole batch sizes between 1 and 4096"
        return e

    def check(self) -> "SearchSpace":
        errors = self.errors()
        if errors:
            raise ValueError("invalid search space: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        return self

    @property
    def conv_layers(self) -> int:
        return len(DEFAULTS[self.architecture].filters)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SearchSpace":
        d = dict(d)
        for k in ("first_filters", "other_filters", "conv_dropout", "dense_dropout"):
            if k in d and isinstance(d[k], dict):
                d[k] = Range(**d[k])
            elif k in d:
                d[k] = Range(*d[k])
        for k in ("optimizers", "learning_rates", "batch_sizes"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)
