"""The Predict page's parts: model picker, photo upload, webcam (streamlit-webrtc)."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from ferlab.data.catalog import synthetic_names
from ferlab.inference.detect import DEFAULT_DETECTOR, DETECTORS
from ferlab.inference.draw import annotate, probabilities_frame
from ferlab.inference.explain import MIN_SCALE, PATCH, occlude, overlays
from ferlab.inference.images import ImageError, load_image
from ferlab.inference.models import SHIPPED, ModelChoice, available_models, model_card
from ferlab.inference.predictor import crops, table_rows
from ferlab.labels import CLASSES
from ferlab.models.export import download_name, portable_bytes
from ferlab.runner.jobs import best_checkpoint
from ferlab.store import Store
from ferlab.ui.common import friendly_errors


@st.cache_resource(show_spinner="Loading the model ...", max_entries=4)
def cached_predictor(path: str, modified: float, detector: str = DEFAULT_DETECTOR, tta: bool = False):
    """(`modified`: the file's mtime, so a checkpoint a resumed run has replaced is read again.)"""
    from ferlab.inference.predictor import Predictor

    return Predictor(path, detector=detector, tta=tta)


def checkpoint_choices(store: Store) -> list[ModelChoice]:
    """The best checkpoint so far of each training run that stopped without a model (cancelled or
    failed), best first: a run cut short can still be tried on photos."""
    synthetic = synthetic_names(store)
    found = []
    for job in store.list_jobs():
        checkpoint = best_checkpoint(store, job.id) if job.status in ("cancelled", "failed") else None
        if checkpoint is None:      # not a training run, or its checkpoint is not on this machine
            continue
        data = job.spec.get("data", "?")
        acc = f"val acc {checkpoint.best_val_accuracy:.1%} " if checkpoint.best_val_accuracy is not None else ""
        label = f"job {job.id}: {data}, best so far, {acc}at epoch {checkpoint.best_epoch} ({checkpoint.stopped()})"
        demo = data in synthetic
        found.append(ModelChoice(label + (" [SYNTHETIC demo]" if demo else ""), str(checkpoint.path),
                                 checkpoint.best_val_accuracy, demo))
    return sorted(found, key=lambda c: -(c.accuracy or 0))


def model_picker(store: Store):
    choices = available_models(store) + checkpoint_choices(store)
    if not choices:
        st.info("No trained model yet. Train one on **Experiments** (or `ferlab train --data demo`): "
                "every completed run's model appears here.")
        st.stop()
    left, mid, right = st.columns([3, 1, 1])
    choice = left.selectbox("Model", choices, format_func=lambda c: c.label)
    detector = mid.selectbox("Face detector", DETECTORS, index=DETECTORS.index(DEFAULT_DETECTOR),
                             help="hog: dlib HOG (precise); haar: OpenCV (fastest); cnn: dlib CNN (slow on CPU)")
    tta = right.toggle("Flip TTA", help="average each face with its mirror image")
    if choice.synthetic:
        st.warning("This model was trained on the SYNTHETIC demo set: expect nonsense on real faces.")
    with friendly_errors("Loading the model"):
        predictor = cached_predictor(choice.path, Path(choice.path).stat().st_mtime, detector, tta)
        if predictor.mirrors:
            right.caption("This model averages each face with its mirror image itself.")
        left.download_button(
            f"Download {download_name(choice.path)}", data=lambda: portable_bytes(choice.path),
            file_name=download_name(choice.path),
            mime="application/octet-stream", on_click="ignore", icon=":material/download:",
            help="A file plain Keras 3 reads without ferlab: `keras.saving.load_model(path)`; its input is N x 48 x "
                 "48 x 1 grey levels 0-255, its output the 7 class probabilities (angry, disgust, fear, happy, "
                 "sad, surprise, neutral). A run's checkpoint is converted as `ferlab export` does.")
        if Path(choice.path) == SHIPPED:
            show_model_card()
        return predictor
    st.stop()


IMAGE_LINE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)[ \t]*$", re.MULTILINE)   # ![caption](file.png)
HEADING = re.compile(r"^(#+) ", re.MULTILINE)


def show_model_card() -> None:
    """The shipped model's card (docs/model-card.md, packaged with ferlab) in an expander: how it was
    trained, with which commands, and what it scores; its images from the card's folder."""
    card = model_card()
    if card is None:
        st.caption("This copy of ferlab has no model card for the shipped model (docs/model-card.md).")
        return
    text, folder = card
    text = HEADING.sub(r"##\1 ", text.partition("\n")[2])      # the expander names it; headings a size down
    with st.expander("Model card: how the shipped model was trained, and what it scores"):
        start = 0
        for image in IMAGE_LINE.finditer(text):
            st.markdown(text[start:image.start()])
            if (folder / image[2]).is_file():
                st.image(str(folder / image[2]), caption=image[1])
            start = image.end()
        st.markdown(text[start:])


BAR_WIDTH = 180      # pixels, beside the labels and percentages: fits the photo's neighbouring column


def bars(faces) -> alt.FacetChart:
    """Each face's 7 class probabilities as labelled bars, one small chart per face (numbered as on
    the photo), of a fixed width: every emotion's name shows, and the chart stays inside its column."""
    frame = probabilities_frame(faces).assign(face=lambda d: "face " + d["face"].astype(str))
    base = alt.Chart().encode(
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", tickCount=4),
                title=None),
        y=alt.Y("emotion:N", sort=list(CLASSES), title=None,
                axis=alt.Axis(labelOverlap=False, labelBaseline="middle", labelPadding=4)),
        tooltip=["face", "emotion", alt.Tooltip("probability:Q", format=".1%")])
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text("probability:Q", format=".0%"))
    faces_in_order = [f"face {i}" for i in range(1, len(faces) + 1)]       # face 10 after face 9
    header = alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start", labelFontWeight="bold", labelPadding=4)
    return (alt.layer(base.mark_bar(), text, data=frame)
            .properties(width=BAR_WIDTH, height=alt.Step(17))
            .facet(row=alt.Row("face:N", sort=faces_in_order, title=None, header=header), spacing=10))


@st.cache_data(show_spinner="Hiding each part of each face in turn ...", max_entries=64)
def _occlusions(model: tuple, faces: np.ndarray, _predictor):
    """(`model`: the model file, its mtime and flip TTA, of which `_predictor` is made.)"""
    return occlude(_predictor.classify, faces)


def occlusions_of(predictor, faces: np.ndarray):
    """The occlusion of each face of an N x 48 x 48 x 1 batch, cached per model file and faces."""
    model = (str(predictor.model_path), predictor.model_path.stat().st_mtime, predictor.tta)
    return _occlusions(model, faces, predictor)


def _points(x: float) -> str:
    return f"{round(x):+d}" if round(x) else "0"


EXPLAIN_HELP = (f"Occlusion (Zeiler & Fergus 2014): a grey {PATCH}x{PATCH} square hides one part of the 48x48 "
                "face at a time, and the model is asked again. Red: hiding that part lowers the emotion's "
                "probability (the model relies on it); blue: hiding it raises the probability. A photo's maps "
                f"share one scale: the largest change among its faces, or {MIN_SCALE * 100:.0f} percentage "
                "points if none is larger, is drawn at full strength. Each caption gives the range of the "
                "changes, in points. About 1 s a face for the shipped model on 2 CPU cores "
                "(benchmarks/occlusion.py).")


def explain_faces(predictor, key: str, gray: np.ndarray, faces) -> None:
    """Each face's occlusion map for its label, or for an emotion the user picks."""
    target = st.columns([1, 2])[0].selectbox(
        "Emotion to explain", ["each face's label", *CLASSES], key=f"explain-{key}",
        help="Which emotion's probability the maps follow: why a face was called what it was, or what speaks "
             "for or against another emotion.")
    batch = crops(gray, [f.box for f in faces])
    occlusions = occlusions_of(predictor, batch)
    targets = [int(np.argmax(o.probabilities)) if target == "each face's label" else CLASSES.index(target)
               for o in occlusions]
    captions = []
    for i, (occ, k) in enumerate(zip(occlusions, targets), start=1):
        change = (occ.occluded[:, k] - occ.probabilities[k]) * 100
        captions.append(f"face {i}: {CLASSES[k]} {occ.probabilities[k]:.0%}, a part hidden: "
                        f"{_points(change.min())} to {_points(change.max())} points")
    st.image(overlays(batch, occlusions, targets, size=144), caption=captions, width=144)


def photos_tab(predictor) -> None:
    files = st.file_uploader("Photos", type=["jpg", "jpeg", "png", "webp", "bmp"], accept_multiple_files=True)
    explain = files and st.toggle("Show what each label rests on (occlusion maps)", key="explain",
                                  help=EXPLAIN_HELP)
    rows: list[dict] = []
    for f in files or []:
        st.subheader(f.name)
        try:
            image = load_image(f.getvalue(), f.name)
        except ImageError as e:
            st.error(str(e))
            continue
        if image.notes:
            st.caption("; ".join(image.notes))
        with friendly_errors(f"Predicting {f.name}"):
            faces = predictor.predict_gray(image.gray)
            if not faces:
                st.warning(f"No face found in {f.name}.")
                if not st.checkbox("Classify the whole image as one face", key=f"whole-{f.name}"):
                    st.image(image.rgb, width=480)
                    continue
                faces = [predictor.predict_whole(image.gray)]
                rows += table_rows(f.name, faces, whole=True)
            else:
                rows += table_rows(f.name, faces, whole=False)
            left, right = st.columns([3, 2])
            left.image(annotate(image.rgb, faces, numbered=len(faces) > 1), width="stretch")
            right.altair_chart(bars(faces), width="content")
            if explain:
                explain_faces(predictor, f.file_id, image.gray, faces)
    if rows:
        st.download_button(f"Download the {len(rows)} face(s) as CSV", pd.DataFrame(rows).to_csv(index=False),
                           "ferlab-predictions.csv", "text/csv", key="predictions_csv",
                           help="One row per face: the photo, the face's number on it, its box in pixels, the "
                                "label, and every emotion's probability.")


STALLED_S = 15      # playing this long with no frame labelled: say so


def log_webrtc_errors() -> None:
    """streamlit-webrtc logs why it stopped processing a stream (a frame over 10 s, an exception) to a
    logger with only a NullHandler, so the reason reaches no log; send its warnings to stderr."""
    log = logging.getLogger("streamlit_webrtc")
    if not any(getattr(h, "ferlab", False) for h in log.handlers):
        handler = logging.StreamHandler()
        handler.ferlab = True
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)


def video_health(processor, playing_since: float, now: float) -> str | None:
    """What to tell the user when the video is playing but its frames are not labelled, or None."""
    last = processor.last_at
    if processor.error is not None and (last is None or processor.error_at > last):
        return (f"{processor.failed} frame(s) could not be labelled; the last because of {processor.error}. "
                "The video goes on unlabelled: try another model, or STOP and START again.")
    waiting = now - max(playing_since, last if last is not None else playing_since)
    if waiting > STALLED_S:
        return (f"No frame has been labelled for {waiting:.0f} s: the machine may be too busy (a training run?), "
                "or the video has stopped. Press STOP, then START.")
    return None


def webcam_tab(predictor) -> None:
    if not st.toggle("Use the webcam", key="webcam_on"):
        st.caption("Turn on to classify live video from this browser's camera.")
        return
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    from ferlab.inference.video import FrameProcessor

    log_webrtc_errors()
    if "frame_processor" not in st.session_state or st.session_state.frame_processor.predictor is not predictor:
        with st.spinner("Preparing the model for live video ..."):     # compiles its batches: a second or two
            st.session_state.frame_processor = FrameProcessor(predictor)
    processor = st.session_state.frame_processor
    st.caption("Live video stays on this machine (no STUN or TURN server). Faces are labelled as fast as this "
               "machine can; the frames in between show the latest labels.")
    ctx = webrtc_streamer(key="webcam", mode=WebRtcMode.SENDRECV, rtc_configuration={"iceServers": []},
                          media_stream_constraints={"video": True, "audio": False},
                          video_frame_callback=processor.callback, async_processing=True)

    @st.fragment(run_every=1)
    def fps():
        if not ctx.state.playing:
            st.session_state.pop("webcam_playing_since", None)
            return
        since = st.session_state.setdefault("webcam_playing_since", time.monotonic())
        st.metric("Frames per second (processed)", f"{processor.fps:.1f}")
        if (problem := video_health(processor, since, time.monotonic())) is not None:
            st.warning(problem)

    fps()
    if ctx.state.playing and st.button(
            "Explain the current frame", key="webcam_explain",
            help="Takes the frame now on screen and shows what each face's label rests on, which is too slow "
                 "to do for every frame of live video. " + EXPLAIN_HELP):
        still = processor.still()
        if still is None:
            st.warning("No frame has come through yet: wait for the video, then try again.")
        else:
            st.session_state.webcam_still = (str(predictor.model_path), still)
    kept = st.session_state.get("webcam_still")
    if kept is not None and kept[0] == str(predictor.model_path):     # taken with the model chosen now
        webcam_still(predictor, kept[1])


def webcam_still(predictor, still) -> None:
    """A frame taken from the video: its faces classified on that frame alone (the video smooths
    over frames) and each face's occlusion map."""
    st.subheader("The frame taken")
    if not still.boxes:
        st.info("No face was found in that frame: face the camera and take another.")
        st.image(still.rgb, width=480)
        return
    with friendly_errors("Explaining the frame"):
        faces = predictor.predict_gray(still.gray, list(still.boxes))
        left, right = st.columns([3, 2])
        left.image(annotate(still.rgb, faces, numbered=len(faces) > 1), width="stretch")
        right.altair_chart(bars(faces), width="content")
        explain_faces(predictor, "webcam", still.gray, faces)
