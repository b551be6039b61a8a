"""ferlab: facial emotion recognition experiments on FER2013 (see README.md)."""

__version__ = "0.1.0"
