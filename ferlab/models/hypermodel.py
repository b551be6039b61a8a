"""A keras-tuner HyperModel over a SearchSpace. It only builds (and fits with the chosen batch
size); the tuner and the store stay outside it."""

from __future__ import annotations

import keras
import keras_tuner as kt

from ferlab.models.builders import build_model
from ferlab.models.config import DEFAULTS, ModelConfig
from ferlab.models.search import Range, SearchSpace


def _int(hp: kt.HyperParameters, name: str, r: Range) -> int:
    if r.min == r.max:
        return hp.Fixed(name, int(r.min))
    return hp.Int(name, int(r.min), int(r.max), step=int(r.step))


def _float(hp: kt.HyperParameters, name: str, r: Range) -> float:
    if r.min == r.max:
        return hp.Fixed(name, float(r.min))
    return hp.Float(name, float(r.min), float(r.max), step=float(r.step))


def _choice(hp: kt.HyperParameters, name: str, values: tuple):
    return hp.Fixed(name, values[0]) if len(values) == 1 else hp.Choice(name, list(values))


class PaperHyperModel(kt.HyperModel):
    def __init__(self, space: SearchSpace, augmentation_factory=None, label_smoothing: float = 0.0):
        super().__init__(name=f"ferlab_{space.architecture}")
        self.space = space.check()
        self.augmentation_factory = augmentation_factory
        self.label_smoothing = label_smoothing

    def config_from(self, hp: kt.HyperParameters) -> ModelConfig:
        s = self.space
        filters = [_int(hp, "filters_1", s.first_filters)]
        filters += [_int(hp, f"filters_{i}", s.other_filters) for i in range(2, s.conv_layers + 1)]
        base = DEFAULTS[s.architecture]
        return ModelConfig(s.architecture, tuple(filters), _float(hp, "conv_dropout", s.conv_dropout),
                           base.dense_units, _float(hp, "dense_dropout", s.dense_dropout))

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        from ferlab.training.fit import compile_model
        from ferlab.training.spec import TrainSpec

        config = self.config_from(hp)
        optimizer = _choice(hp, "optimizer", self.space.optimizers)
        lr = _choice(hp, "learning_rate", self.space.learning_rates)
        _choice(hp, "batch_size", self.space.batch_sizes)
        aug = self.augmentation_factory() if self.augmentation_factory else None
        return compile_model(build_model(config, aug), TrainSpec(
            model=config, optimizer=optimizer, learning_rate=lr, label_smoothing=self.label_smoothing))

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.get("batch_size"), **kwargs)
