"""The shipped default model scores on real PublicTest faces what its model card says it does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CARD = REPO / "docs" / "model-card.md"


@pytest.mark.fer2013
@pytest.mark.timeout(900)      # three models (one 8-conv) over 3,589 faces twice: minutes on 2 busy cores
def test_shipped_model_scores_what_its_card_says_on_publictest(fer2013, tmp_path):
    from ferlab.data.readers import read_folders
    from ferlab.inference.models import SHIPPED
    from ferlab.models.saved import load
    from ferlab.training.evaluate import evaluate_plain_and_flip

    card = CARD.read_text()
    # a model with flip TTA built in (ferlab ensemble --flip) states one figure, which flip TTA keeps
    stated = re.search(r"Accuracy \*\*(0\.\d{4})\*\*(?: without test-time augmentation; \*\*(0\.\d{4})\*\* with "
                       r"flip TTA|, each face averaged with its mirror image inside the model)", card)
    assert stated, "the model card states no PublicTest accuracy"
    (tmp_path / "publictest").mkdir()
    (tmp_path / "publictest" / "val").symlink_to(fer2013 / "val")     # the val split alone, as read from files
    split = read_folders(tmp_path / "publictest")["val"]
    assert len(split) == 3589
    model = load(SHIPPED)      # as Predict and `ferlab evaluate` read it (registers ferlab's layers)
    plain, flipped = evaluate_plain_and_flip(model, split)
    # within 4 of 3,589 faces: oneDNN's float32 kernels may round otherwise on other CPUs
    assert plain.accuracy == pytest.approx(float(stated[1]), abs=0.0011)
    assert flipped.accuracy == pytest.approx(float(stated[2] or stated[1]), abs=0.0011)
    assert f"{float(stated[1]):.2%}" in (REPO / "README.md").read_text()


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_the_cards_own_program_reads_the_shipped_file_as_ferlab_does(backend, tmp_path):
    """The card's example, run as it is printed there in a process of its own that cannot import
    ferlab (plain Keras, under each backend), gives the probabilities ferlab's own loading gives for
    the same face."""
    import os
    import subprocess
    import sys
    import textwrap

    import numpy as np
    from PIL import Image

    from ferlab.inference.models import SHIPPED
    from ferlab.labels import CLASSES
    from ferlab.models.saved import load

    card = CARD.read_text()
    block = re.search(r"## Using the file in your own program\n\n(?:\S.*\n)+\n((?:    .*\n|\n)+?)\n\S", card)
    assert block, "the model card shows no program that reads the file"
    program = textwrap.dedent(block[1])
    assert "import ferlab" not in program and '"face.png"' in program
    face = (np.add.outer(np.arange(48), np.arange(48)) * 2.6).astype("uint8")   # any grey 48x48 image
    Image.fromarray(face).save(tmp_path / "face.png")
    no_ferlab = "import sys\nsys.modules['ferlab'] = None\n"     # an import of ferlab would fail
    ran = subprocess.run([sys.executable, "-c", no_ferlab + program.replace('"face.png"', repr(str(tmp_path / "face.png")))],
                         cwd=REPO, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, KERAS_BACKEND=backend))
    assert ran.returncode == 0, ran.stderr[-2000:]
    printed = dict(re.findall(r"'(\w+)': (?:np\.float32\()?([-\d.e]+)", ran.stdout))
    assert list(printed) == list(CLASSES)
    expected = load(SHIPPED, compile=False).predict(face.astype("float32")[None, :, :, None], verbose=0)[0]
    assert [float(v) for v in printed.values()] == pytest.approx(expected.round(3).tolist(), abs=0.0011)
