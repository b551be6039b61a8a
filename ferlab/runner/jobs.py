"""Submitting jobs: a spec is validated before it is stored as a queued job."""

from __future__ import annotations

from ferlab.store import Store
from ferlab.store.entities import JobInfo

KINDS = ("train", "tune")


def parse_spec(kind: str, spec: dict):
    """The TrainSpec / TuneSpec a stored job runs; raises ValueError saying what is wrong."""
    from ferlab.training.spec import TrainSpec, TuneSpec

    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r} (choose {', '.join(KINDS)})")
    try:
        value = TrainSpec.from_dict(spec) if kind == "train" else TuneSpec.from_dict(spec)
    except (TypeError, KeyError) as e:
        raise ValueError(f"malformed {kind} spec: {e}") from None
    return value.check()


def submit(store: Store, kind: str, spec: dict, *, origin: str = "user", experiment: str | None = None) -> JobInfo:
    """Store a queued job after checking its spec and its data set's existence."""
    parsed = parse_spec(kind, spec)
    if parsed.data != "demo":
        from pathlib import Path

        from ferlab.store import NotFound

        try:
            store.get_dataset(parsed.data)
        except NotFound:
            if not Path(parsed.data).expanduser().exists():
                raise
    return store.create_job(kind, parsed.to_dict(), origin=origin, experiment=experiment)
