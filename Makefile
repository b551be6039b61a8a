# The two set-up commands: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run test clean-venv

$(VENV)/.runtime: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . || $(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(VENV)/bin/streamlit run app.py

# Two test processes (pytest-xdist): `make test` ran 268 tests in 8:27 on a 2-core machine, where
# `.venv/bin/pytest tests` (one process) ran 261 in 13:32 (2026-11-28; the suite's subprocess and
# browser tests wait more than they compute). On a 2-core Intel Xeon host `make test` ran 281 tests in
# 14:45 to 19:28 (20th session; `pytest -n 3`: 18:02, a third process gains little), and 18:55 at the
# start of the 21st; then the suite stopped starting TensorFlow in a subprocess where the process is
# not what a test checks (tests.helpers.cli), trained its tiny runs once a session, and checked the
# shipped model on a third of PublicTest against its run's record of every face: 281 in 11:34, and
# 285 (with the webcam's new tests) in 13:24. The same tests' times vary about 2x between runs there.
# At 945693f on that host, 22nd session: `-n 2` 14:35 (20:03 user CPU), `-n 3` 15:57 (21:51), one after
# the other: the suite is bound by CPU there, so a third process only adds contention.
# `--dist loadgroup` with the runner's real-process tests in one group (one after another) was tried
# in the 23rd session and dropped: no shorter (16:36, 13:54, 16:10), and the webcam browser test saw no
# processed frame in two of those three runs, against none in two runs without it.
test: $(VENV)/.dev
	$(PY) -m pytest -n 2

clean-venv:
	rm -rf $(VENV)
