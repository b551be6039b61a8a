#!/usr/bin/env bash
# Pack what scripts/gpu_runs.sh needs on a machine that has Python, PyTorch and JAX but neither
# ferlab's other packages nor ../shared: FER2013's image folders as one .tar.xz (the same files, so
# `ferlab data import` there gives the same fingerprint as here) and wheels for Python 3.12.
# Both folders are git-ignored (.git/info/exclude); a device call carries them.
#
#   bash scripts/gpu_bundle.sh [../shared/fer2013]
set -euo pipefail
SRC=${1:-../shared/fer2013}
exclude=$(git rev-parse --git-path info/exclude)
for path in /.whl/ /.devdata/; do grep -qx "$path" "$exclude" 2>/dev/null || echo "$path" >> "$exclude"; done
mkdir -p .devdata
tar cf - -C "$(dirname "$SRC")" "$(basename "$SRC")/train" "$(basename "$SRC")/val" | xz -9e -T1 > .devdata/fer2013.tar.xz
rm -rf .whl
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
    keras==3.15.1 SQLAlchemy==2.1.9 greenlet==3.5.6 alembic==1.20.1 Mako==1.4.3 namex==0.1.0 optree==0.20.0 \
    keras-tuner==1.4.8 kt-legacy==1.0.5
du -sh .devdata .whl
