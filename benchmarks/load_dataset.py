"""Loading an imported FER2013 from its .npz cache, against reading the image folders.

    .venv/bin/python benchmarks/load_dataset.py [PATH]   (default ../shared/fer2013)

Both are timed in this one process; the ratio is what to compare across machines.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ferlab.data import import_dataset, load_dataset, read_source  # noqa: E402
from ferlab.store import Store  # noqa: E402


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "fer2013")
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["FERLAB_HOME"] = tmp
        store = Store(f"sqlite:///{tmp}/runs.db")
        t = time.perf_counter()
        direct = read_source(src)
        read_s = time.perf_counter() - t
        import_dataset(store, src, "bench")
        loads = []
        for _ in range(5):
            t = time.perf_counter()
            cached = load_dataset(store, "bench")
            loads.append(time.perf_counter() - t)
        assert cached.total() == direct.total()
        best = min(loads)
        print(f"images: {cached.total():,} from {src}")
        print(f"read image folders: {read_s:.2f} s")
        print(f"load .npz cache:    {best:.3f} s (best of 5; median {sorted(loads)[2]:.3f} s)")
        print(f"ratio folders / cache: {read_s / best:.0f}x")


if __name__ == "__main__":
    main()
