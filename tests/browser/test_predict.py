"""Predict in a real browser: a photo upload, and Chromium's fake camera streaming a video made
from a real photo through streamlit-webrtc, with labels drawn on the returned video and a frame
taken from it explained."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ferlab.inference.draw import COLOURS
from tests.browser.conftest import ARTIFACTS, BASE_ARGS, CHROMIUM
from tests.conftest import PHOTOS


def write_y4m(path, rgb: np.ndarray, frames: int = 60) -> None:
    """A YUV4MPEG2 video (Chromium's fake-camera format) repeating one picture."""
    h, w = rgb.shape[:2]
    ycc = Image.fromarray(rgb).convert("YCbCr")
    y, cb, cr = (np.asarray(c) for c in ycc.split())
    cb, cr = (np.asarray(Image.fromarray(c).resize((w // 2, h // 2))) for c in (cb, cr))
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F15:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + y.tobytes() + cb.tobytes() + cr.tobytes())


@pytest.fixture
def photo():
    if not (PHOTOS / "bbt4.jpg").exists():
        pytest.skip("../shared/photos not found")
    return np.asarray(Image.open(PHOTOS / "bbt4.jpg").convert("RGB").resize((640, 480)))


@pytest.fixture
def model_in_store(app_server, tmp_path):
    from ferlab.models import ModelConfig
    from ferlab.models.builders import build_model
    from ferlab.store import Store

    _, env = app_server
    path = tmp_path / "m.keras"
    build_model(ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1)).save(path)
    store = Store(env["FERLAB_DB_URL"])
    job = store.create_job("train", {"data": "demo"}, status="completed")
    trial = store.start_trial(job.id, 1, {})
    store.add_artifact(trial.id, str(path), dataset="demo", split="test", accuracy=0.3)
    return path


def label_pixels(rgb: np.ndarray) -> int:
    """Pixels close to one of the label colours."""
    flat = rgb.reshape(-1, 3).astype(int)
    return int(sum((np.abs(flat - np.array(c)).sum(axis=1) < 30).sum() for c in COLOURS.values()))


def test_photo_upload_draws_boxes(app_server, page, model_in_store, photo, tmp_path):
    url, _ = app_server
    Image.fromarray(photo).save(tmp_path / "group.jpg")
    page.goto(f"{url}/predict")
    page.get_by_role("heading", name="Predict").wait_for(timeout=60_000)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(tmp_path / "group.jpg"))
    page.get_by_role("heading", name="group.jpg").wait_for(timeout=120_000)
    page.locator("[data-testid='stImage']:visible").first.wait_for(timeout=120_000)   # not the card's, folded
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "predict-photo.png"), full_page=True)
    assert page.get_by_text("No face found").count() == 0
    # every face of every photo as a CSV row: its box, label and the seven probabilities
    import pandas as pd

    from ferlab.labels import CLASSES

    button = page.get_by_role("button", name=re.compile(r"Download the \d+ face\(s\) as CSV"))
    with page.expect_download(timeout=60_000) as download:
        button.click()
    rows = pd.read_csv(download.value.path())
    faces = int(re.search(r"the (\d+) face", button.inner_text())[1])
    assert len(rows) == faces >= 4 and set(rows["photo"]) == {"group.jpg"} and list(rows["face"]) == list(range(1, faces + 1))
    probabilities = rows[list(CLASSES)].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-3) and not rows["whole image"].any()
    assert list(rows["label"]) == [CLASSES[i] for i in probabilities.argmax(axis=1)]
    assert ((rows["width"] > 20) & (rows["x"] + rows["width"] <= 640) & (rows["y"] + rows["height"] <= 480)).all()
    # what each label rests on: an occlusion map per face, for its label, then for an emotion picked
    page.get_by_text("Show what each label rests on").click()
    captions = page.get_by_text(re.compile(r"^face \d+: \w+ \d+%, a part hidden: ([-+]\d+|0) to ([-+]\d+|0) points$"))
    captions.first.wait_for(timeout=120_000)
    assert [re.match(r"face (\d+): (\w+)", c).groups() for c in captions.all_inner_texts()] == \
        [(str(i), label) for i, label in enumerate(rows["label"], 1)]
    page.get_by_test_id("stSelectbox").filter(has_text="Emotion to explain").click()
    page.keyboard.type("surprise")             # the list shows only some of its 8 options at a time
    page.get_by_role("option", name="surprise", exact=True).click()
    surprise = page.get_by_text(re.compile(r"^face \d+: surprise \d+%, a part hidden"))
    surprise.nth(faces - 1).wait_for(timeout=60_000)
    assert surprise.count() == faces
    page.wait_for_timeout(3000)                 # the maps load after their captions
    page.screenshot(path=str(ARTIFACTS / "predict-occlusion.png"), full_page=True)
    # the shipped model (the first choice) with its model card under the picker: text and picture
    page.get_by_text("Model card: how the shipped model was trained").click()
    card = page.get_by_test_id("stExpander").filter(has_text="Model card")
    card.get_by_role("heading", name="Results on PublicTest").wait_for(timeout=30_000)
    picture = card.locator("[data-testid='stImage'] img").first
    picture.wait_for(timeout=30_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle(), timeout=30_000)


def test_fake_camera_streams_and_labels_appear(app_server, pw, model_in_store, photo, tmp_path):
    url, env = app_server
    video = tmp_path / "face.y4m"
    write_y4m(video, photo)
    if True:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            *BASE_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}", "--disable-features=WebRtcHideLocalIpsWithMdns"])
        context = browser.new_context(viewport={"width": 1400, "height": 1100}, permissions=["camera"])
        page = context.new_page()
        page.goto(f"{url}/predict")
        page.get_by_role("heading", name="Predict").wait_for(timeout=60_000)
        page.get_by_role("tab", name="Webcam").click()
        page.get_by_text("Use the webcam").click()
        frame = page.frame_locator("iframe[title*='streamlit_webrtc']").first
        frame.get_by_role("button", name="START").click(timeout=60_000)
        frame.locator("video").first.wait_for(timeout=60_000)
        page.get_by_text("Frames per second (processed)").wait_for(timeout=90_000)
        import io
        import time

        baseline, drawn = label_pixels(photo), 0
        deadline = time.monotonic() + 150          # the whole suite beside it can slow the first labels
        try:
            while time.monotonic() < deadline and drawn <= baseline + 500:
                shot = frame.locator("video").first.screenshot()
                drawn = label_pixels(np.asarray(Image.open(io.BytesIO(shot)).convert("RGB").resize((640, 480))))
                page.wait_for_timeout(1000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "predict-webcam-failed.png"), full_page=True)
            raise
        (ARTIFACTS / "predict-webcam.png").write_bytes(shot)
        page.screenshot(path=str(ARTIFACTS / "predict-webcam-page.png"), full_page=True)
        size = frame.locator("video").first.evaluate("v => `${v.videoWidth}x${v.videoHeight}`")
        fps = page.get_by_test_id("stMetric").filter(has_text="Frames per second").inner_text().replace("\n", " ")
        assert drawn > baseline + 500, f"no label drawn on the returned video ({size}, {fps})"
        server_log = (Path(env["FERLAB_HOME"]).parent / "streamlit.log").read_text()
        for error in ("Error occurred in the WebRTC thread", "could not be labelled"):   # both logged to it
            assert error not in server_log, server_log[-3000:]
        # a frame taken from the video: its faces, each with its occlusion map and caption
        page.get_by_role("button", name="Explain the current frame").click()
        page.get_by_role("heading", name="The frame taken").wait_for(timeout=60_000)
        captions = page.get_by_text(re.compile(r"^face \d+: \w+ \d+%, a part hidden: ([-+]\d+|0) to ([-+]\d+|0) points$"))
        captions.first.wait_for(timeout=120_000)
        numbers = [int(re.match(r"face (\d+)", c)[1]) for c in captions.all_inner_texts()]
        assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 4    # bbt4: 6 faces, haar finds them
        assert page.locator("[data-testid='stException']").count() == 0
        page.mouse.move(0, 0)                      # the button's help off the picture
        captions.last.scroll_into_view_if_needed()
        page.wait_for_timeout(3000)                 # the maps load after their captions
        page.screenshot(path=str(ARTIFACTS / "predict-webcam-still.png"))
        browser.close()


def test_download_gives_a_file_plain_keras_reads(app_server, page, tmp_path):
    """A model that needs ferlab's layers (a checkpoint's FaceAugment) comes down as a portable file."""
    import keras

    from ferlab.models import ModelConfig
    from ferlab.models.builders import build_model
    from ferlab.models.layers import FaceAugment
    from ferlab.store import Store
    from tests.helpers import keras_modules

    url, env = app_server
    model = build_model(ModelConfig("4conv", (8, 8, 8, 8), 0.1, (16, 16), 0.1), augmentation=FaceAugment())
    model.save(tmp_path / "with-augment.keras")
    assert "ferlab" in keras_modules(tmp_path / "with-augment.keras")
    store = Store(env["FERLAB_DB_URL"])
    job = store.create_job("train", {"data": "demo"}, status="completed")
    store.add_artifact(store.start_trial(job.id, 1, {}).id, str(tmp_path / "with-augment.keras"), dataset="demo",
                       split="test", accuracy=0.99)
    page.goto(f"{url}/predict")
    page.get_by_role("heading", name="Predict").wait_for(timeout=60_000)
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_text(f"job {job.id}: demo").first.click()
    button = page.get_by_role("button", name="Download with-augment.keras")   # the rerun for this choice
    button.wait_for(timeout=120_000)
    with page.expect_download(timeout=120_000) as download:
        button.click()
    assert download.value.suggested_filename == "with-augment.keras"
    download.value.save_as(tmp_path / "downloaded.keras")
    assert keras_modules(tmp_path / "downloaded.keras") == {"keras"}
    x = np.random.default_rng(0).integers(0, 256, (4, 48, 48, 1)).astype("float32")
    np.testing.assert_array_equal(keras.saving.load_model(tmp_path / "downloaded.keras").predict(x, verbose=0),
                                  model.predict(x, verbose=0))
