"""How long streamlit-webrtc's video callback holds each webcam frame: labelling in the callback (as
until 2026-11-28) against the callback that hands frames to a labelling thread and draws the latest
labels (ferlab.inference.video now). streamlit-webrtc stops processing a stream for good once one
callback takes over 10 s, so the longest call is the figure that matters.

    .venv/bin/python benchmarks/video_callback.py [FRAMES] [--busy K]     (default 60 frames, K=0)

The shipped model on ../shared/photos/bbt4.jpg at 640x480 (six faces), frames fed at 30 a second
like a camera; --busy K runs K busy loops beside it, as a training run would. Both ways are timed in
this one process, one after the other; the ratios are what to compare across machines.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ferlab.inference.models import SHIPPED  # noqa: E402

PHOTO = Path(__file__).resolve().parents[2] / "shared" / "photos" / "bbt4.jpg"


def _busy() -> None:
    while True:
        pass


def feed(call, rgb: np.ndarray, frames: int) -> list[float]:
    """Seconds each of `frames` calls took, calls started 1/30 s apart (or at once when one ran late)."""
    import av

    took, start = [], time.monotonic()
    for i in range(frames):
        time.sleep(max(0.0, start + i / 30 - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        t = time.monotonic()
        call(frame)
        took.append(time.monotonic() - t)
    return took


def main() -> None:
    import av
    from PIL import Image

    from ferlab.inference.predictor import Predictor
    from ferlab.inference.video import FrameProcessor

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frames", type=int, nargs="?", default=60)
    parser.add_argument("--busy", type=int, default=0, help="busy loops to run beside it")
    args = parser.parse_args()
    frames, busy = args.frames, args.busy
    if not PHOTO.exists():
        sys.exit(f"{PHOTO} not found: the benchmark needs ../shared/photos")
    rgb = np.asarray(Image.open(PHOTO).convert("RGB").resize((640, 480)))
    predictor = Predictor(SHIPPED)
    loops = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(busy)]
    for p in loops:
        p.start()
    try:
        inline = FrameProcessor(predictor)
        in_callback = feed(lambda f: av.VideoFrame.from_ndarray(inline.process_rgb(f.to_ndarray(format="rgb24")),
                                                                format="rgb24"), rgb, frames)
        threaded = FrameProcessor(predictor)
        t0 = time.monotonic()
        handed_on = feed(threaded.callback, rgb, frames)
        elapsed = time.monotonic() - t0
        labelled = threaded.frames
    finally:
        for p in loops:
            p.terminate()
    print(f"{frames} frames of {PHOTO.name} (640x480), shipped model, {busy} busy loop(s) beside it")
    for name, took in (("labelled in the callback", in_callback), ("handed to a thread     ", handed_on)):
        print(f"  {name}: median {1000 * statistics.median(took):7.1f} ms, longest {1000 * max(took):7.1f} ms a call")
    print(f"  ratio (in the callback / handed on): median {statistics.median(in_callback) / statistics.median(handed_on):.0f}x,"
          f" longest {max(in_callback) / max(handed_on):.0f}x")
    print(f"  the thread labelled {labelled} of the {frames} frames ({labelled / elapsed:.1f} a second)")


if __name__ == "__main__":
    main()
