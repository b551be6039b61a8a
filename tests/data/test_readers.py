"""Every reader layout, built in a tmp dir from generated arrays (and real FER2013 files)."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from ferlab.data import DataError, read_source
from ferlab.data.dataset import stratified_holdout
from ferlab.labels import CLASSES
from tests.helpers import make_csv, make_folder_layout, write_png


def test_csv_maps_usage_to_splits_and_keeps_pixels(tmp_path, rng):
    faces = rng.integers(0, 256, (6, 48, 48), dtype=np.uint8)
    rows = [(3, faces[0], "Training"), (0, faces[1], "Training"), (6, faces[2], "PublicTest"),
            (5, faces[3], "PrivateTest"), (1, faces[4], "PrivateTest"), (2, faces[5], "Training")]
    ds = read_source(make_csv(tmp_path / "fer2013.csv", rows))
    assert ds.layout == "csv"
    assert not ds.val_from_train
    assert len(ds["train"]) == 3 and len(ds["val"]) == 1 and len(ds["test"]) == 2
    assert ds["train"].labels.tolist() == [3, 0, 2]
    np.testing.assert_array_equal(ds["train"].images[0], faces[0])
    np.testing.assert_array_equal(ds["test"].images[1], faces[4])
    assert ds["test"].labels.tolist() == [5, 1]


def test_csv_without_public_test_carves_val_from_train(tmp_path, rng):
    rows = [(c, rng.integers(0, 256, (48, 48), dtype=np.uint8), "Training")
            for c in range(7) for _ in range(10)]
    ds = read_source(make_csv(tmp_path / "train.csv", rows), val_fraction=0.2, seed=7)
    assert ds.val_from_train and ds.val_fraction == 0.2 and ds.seed == 7
    assert ds["val"].class_counts() == [2] * 7
    assert ds["train"].class_counts() == [8] * 7


def test_folders_train_test_layout_gets_stratified_val(tmp_path, rng):
    make_folder_layout(tmp_path, {"train": 10, "test": 2}, rng=rng)
    ds = read_source(tmp_path, val_fraction=0.1, seed=3)
    assert ds.layout == "folders:test+train"
    assert ds["val"].class_counts() == [1] * 7
    assert ds["train"].class_counts() == [9] * 7
    assert ds["test"].class_counts() == [2] * 7
    again = read_source(tmp_path, val_fraction=0.1, seed=3)
    np.testing.assert_array_equal(ds["val"].images, again["val"].images)


@pytest.mark.parametrize("splits", [("train", "val"), ("train", "val", "test"),
                                    ("train", "validation", "test"), ("Train", "Validation", "TEST")])
def test_folder_layouts_with_val(tmp_path, rng, splits):
    make_folder_layout(tmp_path, {s: 2 for s in splits}, rng=rng)
    ds = read_source(tmp_path)
    assert not ds.val_from_train
    assert sorted(ds.splits) == sorted({"train", "val", "test"} & {s.lower().replace("validation", "val") for s in splits})
    for split in ds.splits.values():
        assert split.class_counts() == [2] * 7


def test_class_folders_are_case_insensitive_and_aliases_work(tmp_path, rng):
    names = ["ANGRY", "Disgust", "fearful", "Happy", "sadness", "Surprised", "neutral"]
    make_folder_layout(tmp_path, {"train": 1, "test": 1}, classes=names, rng=rng)
    ds = read_source(tmp_path, val_fraction=0.0)
    assert ds["test"].class_counts() == [1] * 7


def test_images_of_any_size_and_mode_become_48x48_gray(tmp_path, rng):
    rgb = rng.integers(0, 256, (100, 80, 3), dtype=np.uint8)
    for cls in ("angry", "happy", "sad"):
        (tmp_path / "train" / cls).mkdir(parents=True)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "train" / "angry" / "cmyk.jpg")
    write_png(tmp_path / "train" / "happy" / "rgb.png", rgb)
    write_png(tmp_path / "train" / "happy" / "rgba.png", rng.integers(0, 256, (30, 30, 4), dtype=np.uint8))
    Image.fromarray(rng.integers(0, 65535, (60, 60), dtype=np.uint16)).save(tmp_path / "train" / "sad" / "x16.png")
    make_folder_layout(tmp_path, {"test": 1}, rng=rng)
    train = read_source(tmp_path, val_fraction=0.0)["train"]
    assert train.images.shape == (4, 48, 48) and train.images.dtype == np.uint8
    assert train.labels.tolist() == [0, 3, 3, 4]          # cmyk, rgb, rgba, 16-bit
    expected = np.asarray(Image.fromarray(rgb).convert("L").resize((48, 48), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(train.images[1], expected)
    assert train.images[3].max() > 0                      # 16-bit scaled down, not clipped to black


def test_layout_inside_a_wrapping_folder(tmp_path, rng):
    make_folder_layout(tmp_path / "fer2013", {"train": 2, "test": 1}, rng=rng)
    ds = read_source(tmp_path, val_fraction=0.0)
    assert len(ds["train"]) == 14 and len(ds["test"]) == 7


def test_one_splits_class_folders_alone_are_read_as_that_split(tmp_path, rng):
    # a held-out split handed over alone (PrivateTest/<class>/*.png), named by its folder, any case
    make_folder_layout(tmp_path / "a", {"PrivateTest": 2}, rng=rng)
    ds = read_source(tmp_path / "a" / "PrivateTest")
    assert list(ds.splits) == ["test"] and ds.layout == "folders:PrivateTest as test"
    assert np.bincount(ds["test"].labels).tolist() == [2] * 7       # each class folder, labelled by its name
    make_folder_layout(tmp_path / "b", {"val": 1}, rng=rng)
    assert list(read_source(tmp_path / "b" / "val").splits) == ["val"]
    # any other name is a test split; a folder wrapping it, or a zip of it, reads the same
    make_folder_layout(tmp_path / "c", {"faces": 1}, rng=rng)
    assert list(read_source(tmp_path / "c" / "faces").splits) == ["test"]
    assert read_source(tmp_path / "c").layout == "folders:faces as test"
    archive = shutil.make_archive(str(tmp_path / "faces"), "zip", tmp_path / "c")
    assert len(read_source(archive)["test"]) == 7
    # a train split alone still gets its val carved out
    make_folder_layout(tmp_path / "d", {"Training": 4}, rng=rng)
    ds = read_source(tmp_path / "d" / "Training", val_fraction=0.25)
    assert sorted(ds.splits) == ["train", "val"] and len(ds["train"]) + len(ds["val"]) == 28


def test_zip_of_folders_and_zip_of_csv(tmp_path, rng):
    make_folder_layout(tmp_path / "src" / "fer", {"train": 2, "val": 1}, rng=rng)
    archive = shutil.make_archive(str(tmp_path / "folders"), "zip", tmp_path / "src")
    ds = read_source(archive)
    assert ds.layout.startswith("zip:folders") and len(ds["train"]) == 14 and len(ds["val"]) == 7

    rows = [(c, rng.integers(0, 256, (48, 48), dtype=np.uint8), u) for c in range(7)
            for u in ("Training", "PublicTest")]
    csv_path = make_csv(tmp_path / "fer2013.csv", rows)
    with zipfile.ZipFile(tmp_path / "csv.zip", "w") as zf:
        zf.write(csv_path, "fer2013/fer2013.csv")
    ds = read_source(tmp_path / "csv.zip")
    assert ds.layout == "zip:csv" and len(ds["train"]) == 7 and len(ds["val"]) == 7


def test_real_fer2013_files_read_unchanged(tmp_path, real_faces):
    for cls, files in real_faces.items():
        for f in files[:2]:
            (tmp_path / "train" / cls).mkdir(parents=True, exist_ok=True)
            shutil.copy(f, tmp_path / "train" / cls / f.name)
    shutil.copytree(tmp_path / "train", tmp_path / "test")
    ds = read_source(tmp_path, val_fraction=0.0)
    assert ds["train"].class_counts() == [2] * 7
    first = sorted(real_faces["angry"])[0]
    np.testing.assert_array_equal(ds["train"].images[0], np.asarray(Image.open(first).convert("L")))


def test_stratified_holdout_is_deterministic_and_per_class():
    labels = np.repeat(np.arange(7), [100, 10, 50, 200, 80, 60, 90])
    a, b = stratified_holdout(labels, 0.1, 42), stratified_holdout(labels, 0.1, 42)
    assert (a == b).all()
    assert np.bincount(labels[a], minlength=7).tolist() == [10, 1, 5, 20, 8, 6, 9]
    assert not (a == stratified_holdout(labels, 0.1, 43)).all()


# --- bad input ----------------------------------------------------------------------------------

def test_undecodable_and_empty_images_are_skipped_and_named(tmp_path, rng):
    make_folder_layout(tmp_path, {"train": 2, "test": 1}, rng=rng)
    (tmp_path / "train" / "happy" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "train" / "sad" / "empty.png").write_bytes(b"")
    ds = read_source(tmp_path, val_fraction=0.0)
    assert len(ds["train"]) == 14
    text = "\n".join(map(str, ds.problems))
    assert "broken.jpg: cannot be decoded as an image" in text
    assert "empty.png: empty file (0 bytes)" in text


def test_truncated_image_is_skipped(tmp_path, rng):
    make_folder_layout(tmp_path, {"train": 1, "test": 1}, rng=rng)
    good = tmp_path / "big.jpg"
    Image.fromarray(rng.integers(0, 256, (200, 200), dtype=np.uint8)).save(good, quality=95)
    (tmp_path / "train" / "fear" / "cut.jpg").write_bytes(good.read_bytes()[:300])
    ds = read_source(tmp_path, val_fraction=0.0)
    assert len(ds["train"]) == 7
    assert any("cut.jpg" in p.where for p in ds.problems)


def test_csv_bad_rows_name_their_line(tmp_path, rng):
    good = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    rows = [(3, good, "Training"), (3, " ".join(["7"] * 2303), "Training"), (9, good, "Training"),
            (2, good, "Unknown"), (4, " ".join(["300"] * 2304), "PublicTest"), (5, good, "PublicTest")]
    ds = read_source(make_csv(tmp_path / "fer2013.csv", rows), val_fraction=0.0)
    assert len(ds["train"]) == 1 and len(ds["val"]) == 1
    messages = [str(p) for p in ds.problems]
    assert messages[0] == "fer2013.csv line 3: 2,303 pixels instead of 2,304"
    assert messages[1] == "fer2013.csv line 4: unknown label 9 (expected 0..6)"
    assert messages[2].startswith("fer2013.csv line 5: unknown Usage 'Unknown'")
    assert messages[3] == "fer2013.csv line 6: pixel values outside 0..255"
    # what a run that reads the file directly logs, so its figures say what they count
    note = ds.skipped_note(most=1)
    assert note.startswith("skipped 4 item(s) of ") and note.endswith("`ferlab data import` lists them all")
    assert "(fer2013.csv line 3: 2,303 pixels instead of 2,304; and 3 more)" in note
    assert "the figures count only the 2 faces read" in note
    assert read_source(make_csv(tmp_path / "ok.csv", rows[:1]), val_fraction=0.0).skipped_note() == ""


def test_csv_without_header_or_rows_is_fatal(tmp_path):
    (tmp_path / "a.csv").write_text("1,2,3\n")
    with pytest.raises(DataError, match="line 1 must be a header"):
        read_source(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    with pytest.raises(DataError, match=r"no usable rows; first problem: b.csv line 2: 3 pixels"):
        read_source(tmp_path / "b.csv")


def test_unknown_and_empty_class_folders_are_reported(tmp_path, rng):
    make_folder_layout(tmp_path, {"train": 1, "test": 1}, rng=rng)
    write_png(tmp_path / "train" / "contempt" / "x.png", rng.integers(0, 256, (48, 48), dtype=np.uint8))
    (tmp_path / "test" / "happy_extra").mkdir()
    shutil.rmtree(tmp_path / "test" / "sad")
    (tmp_path / "test" / "sad").mkdir()
    ds = read_source(tmp_path, val_fraction=0.0)
    text = "\n".join(map(str, ds.problems))
    assert "contempt: unknown class folder (1 files skipped)" in text
    assert "happy_extra: unknown class folder (0 files skipped)" in text
    assert "sad: empty class folder" in text


def test_folders_without_any_image_are_fatal(tmp_path):
    for cls in CLASSES:
        (tmp_path / "train" / cls).mkdir(parents=True)
    with pytest.raises(DataError, match="no readable images"):
        read_source(tmp_path)
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(DataError, match="no split folder found"):
        read_source(empty)


def test_zip_entry_outside_target_is_refused(tmp_path, rng):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("train/happy/a.png", b"x")
        zf.writestr("../escaped.txt", b"gotcha")
    with pytest.raises(DataError, match=r"entry '../escaped.txt' points outside"):
        read_source(tmp_path / "evil.zip")
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_corrupt_zip_and_missing_path_and_wrong_type(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"PK nonsense")
    with pytest.raises(DataError, match="not a readable zip"):
        read_source(tmp_path / "bad.zip")
    with pytest.raises(DataError, match="does not exist"):
        read_source(tmp_path / "nope")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match="not a .csv, a .zip or a folder"):
        read_source(tmp_path / "x.txt")
