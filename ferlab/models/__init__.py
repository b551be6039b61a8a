"""Model builders (4/5/8-conv and ferlab's compact CNN) and the tuning search space.

`ferlab.models.config` holds plain values; importing `build_model` loads keras."""

from ferlab.models.config import ARCHITECTURES, DEFAULTS, ModelConfig, default_config

__all__ = ["ARCHITECTURES", "DEFAULTS", "ModelConfig", "build_model", "default_config"]


def __getattr__(name):
    if name == "build_model":
        from ferlab.models.builders import build_model

        return build_model
    raise AttributeError(name)
