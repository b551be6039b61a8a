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


def test_frames_of_up_to_four_faces_meet_only_the_batches_compiled_before_the_first(processor, monkeypatch):
    """streamlit-webrtc stops processing a stream for good once one frame takes over 10 s, and a first
    compile on a busy machine can; so the frame processor compiles its batches up front, pads a frame's
    faces to the next of them, and a new face count compiles nothing."""
    import keras

    from ferlab.inference.detect import Box
    from ferlab.inference.predictor import Predictor, batch_size, crops
    from ferlab.inference.video import FrameProcessor

    assert [batch_size(n) for n in range(10)] == [1, 1, 2, 4, 4, 8, 8, 8, 8, 16]
    fresh = FrameProcessor(Predictor(processor.predictor.model_path, detector="haar"), detector="haar")
    traced = tracing_count(fresh.predictor.model) if keras.backend.backend() == "tensorflow" else None
    model = fresh.predictor.model
    seen, run = [], model.predict_on_batch                   # the batches the model itself meets
    monkeypatch.setattr(model, "predict_on_batch", lambda x: seen.append(len(x)) or run(x))
    gray = two_face_scene()
    boxes = [Box(20 + 60 * i, 40, 90, 90) for i in range(4)]
    found = {n: fresh._classify(gray, boxes[:n]) for n in (3, 1, 4, 2, 0)}
    assert seen == [4, 1, 4, 2]                    # a frame without faces runs no model
    if traced is not None:
        assert tracing_count(fresh.predictor.model) == traced
    monkeypatch.undo()
    unpadded = fresh.predictor.classify(crops(gray, boxes))
    for n, faces in found.items():
        assert [f.box for f in faces] == boxes[:n]
        np.testing.assert_allclose(np.reshape([f.probabilities for f in faces], (n, 7)), unpadded[:n], atol=1e-5)


def tracing_count(model) -> int:
    return model.predict_function.experimental_get_tracing_count()


def video_frame(rgb):
    import av

    return av.VideoFrame.from_ndarray(rgb, format="rgb24")


def wait_for(condition, what: str, limit: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {limit:.0f} s"
        time.sleep(0.02)


def test_the_callback_never_waits_for_the_model_and_draws_the_latest_labels(processor, monkeypatch):
    """streamlit-webrtc stops processing a stream for good once one callback takes over 10 s, as a
    labelled frame can on a busy machine: the model's work happens in a thread of its own."""
    import threading

    from ferlab.inference.video import FrameProcessor

    fresh = FrameProcessor(processor.predictor, detector="haar")
    held, release, classify = threading.Event(), threading.Event(), fresh._classify

    def slow(gray, boxes):
        held.set()
        assert release.wait(60)
        return classify(gray, boxes)

    monkeypatch.setattr(fresh, "_classify", slow)
    rgb = scene_rgb()
    passed = [fresh.callback(video_frame(rgb)).to_ndarray(format="rgb24")]
    assert held.wait(60)                                 # the labelling thread holds the first frame,
    passed += [fresh.callback(video_frame(rgb)).to_ndarray(format="rgb24") for _ in range(2)]  # and frames go on
    assert fresh.frames == 0 and all(np.array_equal(out, rgb) for out in passed)   # unlabelled: no labels yet
    release.set()
    wait_for(lambda: fresh.frames >= 2, "the first frame and the newest waiting labelled")
    assert fresh.frames == 2                             # the one in between was dropped, not queued
    labelled = fresh.callback(video_frame(rgb)).to_ndarray(format="rgb24")
    assert not np.array_equal(labelled, rgb) and np.array_equal(labelled, fresh.process_rgb(rgb))


def test_the_labelling_thread_ends_without_video_and_the_next_frame_starts_one(processor, monkeypatch):
    from ferlab.inference import video

    monkeypatch.setattr(video, "IDLE_S", 0.05)
    fresh = video.FrameProcessor(processor.predictor, detector="haar")
    fresh.callback(video_frame(scene_rgb()))
    wait_for(lambda: fresh.frames == 1 and fresh._thread is None, "the thread's end after a frame")
    fresh.callback(video_frame(scene_rgb()))
    wait_for(lambda: fresh.frames == 2, "a frame labelled by a new thread")


def test_a_frame_that_fails_is_passed_on_unlabelled_and_the_page_says_why(processor, monkeypatch):
    from ferlab.inference.video import FrameProcessor
    from ferlab.ui.predict import video_health

    fresh = FrameProcessor(processor.predictor, detector="haar")
    assert video_health(fresh, playing_since=100.0, now=105.0) is None         # starting: not yet a stall

    def broken(gray, boxes):
        raise MemoryError("out of memory in the model")

    monkeypatch.setattr(fresh, "_classify", broken)
    rgb = scene_rgb()
    for _ in range(2):
        out = fresh.callback(video_frame(rgb)).to_ndarray(format="rgb24")
        assert np.array_equal(out, rgb)
        wait_for(lambda: fresh._pending is None and fresh.failed >= 1, "the failure recorded")
    wait_for(lambda: fresh.failed == 2, "both failures recorded")
    assert fresh.frames == 0
    assert "2 frame(s) could not be labelled; the last because of MemoryError: out of memory in the model" in \
        video_health(fresh, playing_since=100.0, now=101.0)
    monkeypatch.undo()                                   # a frame labelled after them: no more warning
    fresh.process_rgb(rgb)
    assert video_health(fresh, playing_since=100.0, now=fresh.last_at + 1) is None


def test_a_stream_whose_frames_stop_being_labelled_is_named_a_stall(processor):
    from ferlab.inference.video import FrameProcessor
    from ferlab.ui.predict import STALLED_S, video_health

    fresh = FrameProcessor(processor.predictor, detector="haar")
    stalled = video_health(fresh, playing_since=100.0, now=100.0 + STALLED_S + 1)
    assert stalled.startswith("No frame has been labelled for 16 s:") and "Press STOP, then START" in stalled
    fresh.process_rgb(scene_rgb())
    labelled = fresh.last_at
    assert video_health(fresh, playing_since=labelled - 60, now=labelled + STALLED_S - 1) is None
    assert "for 20 s" in video_health(fresh, playing_since=labelled - 60, now=labelled + 20)
    # a frame labelled before this START does not count for it
    assert "for 16 s" in video_health(fresh, playing_since=labelled + 1, now=labelled + STALLED_S + 2)


def test_streamlit_webrtcs_own_errors_reach_the_server_log_once():
    """It ends a stream whose frame took over 10 s with an error logged where no handler prints it."""
    import logging

    from ferlab.ui.predict import log_webrtc_errors

    log_webrtc_errors()
    log_webrtc_errors()                                  # every rerun of the page calls it
    ours = [h for h in logging.getLogger("streamlit_webrtc").handlers if getattr(h, "ferlab", False)]
    assert len(ours) == 1 and ours[0].level == logging.WARNING and isinstance(ours[0], logging.StreamHandler)
