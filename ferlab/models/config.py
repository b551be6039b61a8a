"""Model hyperparameters as plain values (no keras import, so the CLI and pages stay light)."""

from __future__ import annotations

from dataclasses import dataclass

ARCHITECTURES = ("4conv", "5conv", "8conv", "compact")


@dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters of one model; `filters` has one entry per conv layer."""

    architecture: str
    filters: tuple[int, ...]
    conv_dropout: float = 0.25
    dense_units: tuple[int, ...] = (256,)
    dense_dropout: float = 0.5

    def to_dict(self) -> dict:
        return {"architecture": self.architecture, "filters": list(self.filters),
                "conv_dropout": self.conv_dropout, "dense_units": list(self.dense_units),
                "dense_dropout": self.dense_dropout}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(architecture=d["architecture"], filters=tuple(d["filters"]),
                   conv_dropout=float(d["conv_dropout"]), dense_units=tuple(d["dense_units"]),
                   dense_dropout=float(d["dense_dropout"]))


# RECONSTRUCTION: the defaults. 4-conv follows the classic FER2013 Keras baseline the paper
# starts from (64-128-512-512, two dense layers); 5- and 8-conv use VGG-style doubling.
# 8-conv with these defaults has 5,283,271 parameters (+1.05% against the paper's 5,228,487).
DEFAULTS: dict[str, ModelConfig] = {
    "4conv": ModelConfig("4conv", (64, 128, 512, 512), 0.25, (256, 512), 0.25),
    "5conv": ModelConfig("5conv", (64, 128, 256, 512, 512), 0.25, (256,), 0.5),
    "8conv": ModelConfig("8conv", (64, 64, 128, 128, 256, 256, 512, 512), 0.25, (128,), 0.5),
    # ferlab's own compact CNN (not from the paper): stride-2 stem, then three conv stages and
    # global average pooling; 1,391,223 parameters and about 3x cheaper than 8-conv per image.
    "compact": ModelConfig("compact", (48, 96, 96, 192, 192, 384), 0.1, (256,), 0.4),
}

def default_config(architecture: str) -> ModelConfig:
    if architecture not in DEFAULTS:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
    return DEFAULTS[architecture]


# How an ensemble model (ferlab.models.ensemble) names itself and the models it averages; the
# Experiments form counts members from a saved file's config by these, without loading keras.
ENSEMBLE_NAME = "ferlab_ensemble"
MEMBER_PREFIX = "member_"


def member_ref(ref: str) -> tuple[str, int | None]:
    """An ensemble member as named: "model.keras" (the whole model) or "model.keras#K" (the K-th
    model that the ensemble saved there averages) -> (path, K or None)."""
    path, sep, k = ref.rpartition("#")
    return (path, int(k)) if sep and k.isdigit() else (ref, None)
