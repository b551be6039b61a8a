"""ferlab: facial emotion recognition experiments on FER2013 (see README.md)."""

__version__ = "0.1.0"

# pylibsrtp (streamlit-webrtc -> aiortc) crashes the process with a segmentation fault when it is
# loaded after TensorFlow (tensorflow 2.21, pylibsrtp 1.0.0); loaded first, both work. It is a small
# C extension, so ferlab loads it up front wherever it is installed.
import os as _os
import sys as _sys

# One GPU serves several ferlab processes at once: the app (Predict), a worker or two, a run in a
# shell, the test suite's two processes. TensorFlow would map nearly all GPU memory to the first
# and JAX 75% of it, and the next could not start; so each takes what it uses (a user's setting wins).
_os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
_os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

if "tensorflow" not in _sys.modules:  # too late once TensorFlow is in; importing it now would crash
    try:
        import pylibsrtp  # noqa: F401
    except ImportError:  # pragma: no cover - streamlit-webrtc not installed
        pass
