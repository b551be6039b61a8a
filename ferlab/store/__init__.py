"""The experiment store (SQLAlchemy). Never imports keras."""

from ferlab.store.api import JOB_STATUSES, NotFound, Store
from ferlab.store.engine import SchemaOutOfDate, StoreError

__all__ = ["JOB_STATUSES", "NotFound", "SchemaOutOfDate", "Store", "StoreError"]
