"""ferlab: facial emotion recognition experiments on FER2013 (see README.md)."""

__version__ = "0.1.0"

# pylibsrtp (streamlit-webrtc -> aiortc) crashes the process with a segmentation fault when it is
# loaded after TensorFlow (tensorflow 2.21, pylibsrtp 1.0.0); loaded first, both work. It is a small
# C extension, so ferlab loads it up front wherever it is installed.
import sys as _sys

if "tensorflow" not in _sys.modules:  # too late once TensorFlow is in; importing it now would crash
    try:
        import pylibsrtp  # noqa: F401
    except ImportError:  # pragma: no cover - streamlit-webrtc not installed
        pass
