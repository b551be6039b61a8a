"""Model builders: output shapes, parameter counts, and the search space's own checks."""

from __future__ import annotations

import numpy as np
import pytest

from ferlab.models import DEFAULTS, ModelConfig, build_model
from ferlab.models.search import Range, SearchSpace

PAPER_8CONV_PARAMS = 5_228_487


@pytest.mark.parametrize("arch", ["4conv", "5conv", "8conv", "compact"])
def test_builders_output_seven_probabilities(arch):
    model = build_model(DEFAULTS[arch])
    x = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 1)).astype("float32")
    p = np.asarray(model(x, training=False))
    assert p.shape == (3, 7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-4)
    convs = [l for l in model.layers if l.__class__.__name__ == "Conv2D"]
    assert len(convs) == len(DEFAULTS[arch].filters)


def test_8conv_defaults_within_two_percent_of_the_paper():
    params = build_model(DEFAULTS["8conv"]).count_params()
    assert params == 5_281_223
    assert abs(params - PAPER_8CONV_PARAMS) / PAPER_8CONV_PARAMS < 0.02


def test_filters_change_the_parameter_count_and_wrong_lengths_are_refused():
    small = build_model(ModelConfig("5conv", (32, 64, 64, 64, 64), 0.1, (64,), 0.1)).count_params()
    assert small < build_model(DEFAULTS["5conv"]).count_params()
    with pytest.raises(ValueError, match="8conv needs 8 filter counts, got 2"):
        build_model(ModelConfig("8conv", (32, 64)))
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model(ModelConfig("9conv", (32,)))


def test_search_space_defaults_are_the_papers():
    space = SearchSpace()
    assert space.errors() == {}
    assert space.first_filters.values() == [32, 64, 96, 128, 160, 192, 224, 256]
    assert space.other_filters.values()[-1] == 512 and len(space.other_filters.values()) == 8
    assert len(space.conv_dropout.values()) == 11 and space.conv_dropout.values()[-1] == 0.5


@pytest.mark.parametrize("change, field, message", [
    ({"first_filters": Range(256, 32, 32)}, "first_filters", "min (256) is greater than max (32)"),
    ({"other_filters": Range(64, 500, 64)}, "other_filters", "step 64 does not fit the range 64..500"),
    ({"conv_dropout": Range(0, 0.5, 0)}, "conv_dropout", "step must be positive"),
    ({"dense_dropout": Range(0, 1.5, 0.5)}, "dense_dropout", "must lie within 0..0.95"),
    ({"first_filters": Range(32.5, 64, 32)}, "first_filters", "whole numbers"),
    ({"architecture": "7conv"}, "architecture", "unknown model '7conv'"),
    ({"optimizers": ("adam", "rmsprop")}, "optimizers", "got rmsprop"),
    ({"batch_sizes": ()}, "batch_sizes", "one or more"),
    ({"learning_rates": (0.0,)}, "learning_rates", "(0, 1]"),
])
def test_search_space_says_what_is_wrong(change, field, message):
    from dataclasses import replace

    errors = replace(SearchSpace(), **change).errors()
    assert list(errors) == [field] and message in errors[field]
    with pytest.raises(ValueError, match="invalid search space"):
        replace(SearchSpace(), **change).check()


def test_search_space_round_trips_through_json():
    import json

    space = SearchSpace("5conv", optimizers=("adam", "sgd"), batch_sizes=(32, 64, 128))
    assert SearchSpace.from_dict(json.loads(json.dumps(space.to_dict()))) == space
