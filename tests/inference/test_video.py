"""The webcam's frame processor without a browser: frames in, labelled frames out, and the last
frame kept as a still for a closer look."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import two_face_scene


@pytest.fixture(scope="module")
def processor(tmp_path_factory):
    import keras

    from ferlab.inference.predictor import Predictor
    from ferlab.inference.video import FrameProcessor
    from ferlab.models.builders import build_model
    from tests.helpers import tiny_model

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("m") / "tiny.keras"
    build_model(tiny_model()).save(path)
    return FrameProcessor(Predictor(path, detector="haar"), detector="haar")


def scene_rgb() -> np.ndarray:
    return np.stack([two_face_scene()] * 3, axis=-1)


def test_a_frame_without_faces_is_kept_as_it_came(processor):
    frame = np.full((240, 320, 3), (200, 180, 40), dtype=np.uint8)
    out = processor.process_rgb(frame)
    still = processor.still()
    assert np.array_equal(out, frame) and still.boxes == ()
    assert still.rgb is frame and still.gray.shape == (240, 320) and (still.gray == still.gray[0, 0]).all()


def test_the_last_frame_is_kept_undrawn_with_its_face_boxes(processor):
    from ferlab.inference.predictor import crops

    frame = scene_rgb()
    before = processor.frames
    out = processor.process_rgb(frame)
    still = processor.still()
    assert processor.frames == before + 1
    assert len(still.boxes) == 2 and sorted(b.x < 320 for b in still.boxes) == [False, True]  # one face each side
    assert not np.array_equal(out, frame)                        # labels drawn on what goes back
    assert np.array_equal(still.rgb, scene_rgb())                # and not on the still
    assert crops(still.gray, list(still.boxes)).shape == (2, 48, 48, 1)


def still_page(model: str, blank: bool) -> None:
    """The Predict page's part for a frame taken from the webcam, on a frame made here."""
    import numpy as np

    from ferlab.inference.predictor import Predictor
    from ferlab.inference.video import FrameProcessor
    from ferlab.ui.predict import webcam_still
    from tests.helpers import two_face_scene

    frame = np.full((240, 320, 3), 90, dtype=np.uint8) if blank else np.stack([two_face_scene()] * 3, axis=-1)
    processor = FrameProcessor(Predictor(model, detector="haar"), detector="haar")
    processor.process_rgb(frame)
    webcam_still(processor.predictor, processor.still())


@pytest.mark.parametrize("blank", [True, False], ids=["no face", "two faces"])
def test_a_frame_taken_shows_its_faces_and_their_maps_or_says_it_has_none(processor, blank):
    from streamlit.testing.v1 import AppTest

    if not blank:
        scene_rgb()                                  # skips without FER2013
    at = AppTest.from_function(still_page, args=(str(processor.predictor.model_path), blank),
                               default_timeout=120).run()
    assert not at.exception
    assert [h.value for h in at.subheader] == ["The frame taken"]
    if blank:
        assert "No face was found in that frame" in at.info[0].value
    else:
        assert len(at.get("image")) == 2               # the frame with its boxes, then the maps
        captions = at.get("image")[-1].proto.imgs
        assert [c.caption.split(":")[0] for c in captions] == ["face 1", "face 2"]
        assert at.selectbox(key="explain-webcam").value == "each face's label"
