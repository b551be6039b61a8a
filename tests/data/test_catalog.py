"""Import once (cached .npz registered in the store), load fast, fail without leftovers."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from ferlab.data import DataError, delete_dataset, demo_dataset, ensure_demo, import_dataset, load_dataset, read_source
from ferlab.data.catalog import read_split, sample_faces
from ferlab.store import NotFound
from tests.helpers import make_folder_layout


def test_import_caches_registers_and_loads_the_same_arrays(store, home, tmp_path, rng):
    src = tmp_path / "src"
    make_folder_layout(src, {"train": 5, "test": 2}, rng=rng)
    seen = []
    report = import_dataset(store, src, "mini", progress=seen.append)
    assert report.created and sum(seen) == 49
    info = report.dataset
    assert info.name == "mini" and info.layout == "folders:test+train"
    assert info.counts == {"train": [4] * 7, "val": [1] * 7, "test": [2] * 7}
    assert info.val_from_train and info.val_fraction == 0.1 and info.seed == 1234
    assert info.cache_path.startswith(str(home)) and info.cache_path.endswith(".npz")
    loaded = load_dataset(store, "mini")
    direct = read_source(src)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(loaded[split].images, direct[split].images)
        np.testing.assert_array_equal(loaded[split].labels, direct[split].labels)


def test_importing_the_same_source_again_is_a_no_op(store, tmp_path, rng):
    src = tmp_path / "src"
    make_folder_layout(src, {"train": 3, "val": 1}, rng=rng)
    first = import_dataset(store, src)
    second = import_dataset(store, src, "other-name")
    assert not second.created and second.dataset.id == first.dataset.id
    assert [d.name for d in store.list_datasets()] == ["src"]


def test_one_split_handed_over_under_two_split_names_is_two_data_sets(store, tmp_path, rng):
    # the same class folders as val/ and as PrivateTest/ read as different splits: an import of one
    # must not answer for the other (the folder's own name is not among the hashed paths)
    make_folder_layout(tmp_path / "a", {"val": 2}, rng=rng)
    shutil.copytree(tmp_path / "a" / "val", tmp_path / "b" / "PrivateTest")
    shutil.copytree(tmp_path / "a" / "val", tmp_path / "c" / "faces")
    val = import_dataset(store, tmp_path / "a" / "val", "as-val")
    held_out = import_dataset(store, tmp_path / "b" / "PrivateTest", "as-private")
    assert val.created and held_out.created and val.dataset.id != held_out.dataset.id
    assert set(val.dataset.counts) == {"val"} and set(held_out.dataset.counts) == {"test"}
    # a folder whose name is no split's reads as test too: the same data set as PrivateTest/
    again = import_dataset(store, tmp_path / "c" / "faces", "as-faces")
    assert not again.created and again.dataset.id == held_out.dataset.id


def test_a_changed_source_under_a_taken_name_is_refused_until_the_old_one_is_deleted(store, tmp_path, rng):
    src, other = tmp_path / "src", tmp_path / "other"
    make_folder_layout(src, {"train": 3, "val": 1}, rng=rng)
    make_folder_layout(other, {"train": 2, "val": 1}, rng=rng)
    old = import_dataset(store, src, "fer").dataset
    with pytest.raises(DataError, match="a different data set is already imported as 'fer'"):
        import_dataset(store, other, "fer")
    (src / "train" / "happy" / "train_happy_0.png").unlink()    # the same path, other contents
    with pytest.raises(DataError, match=r"was imported as 'fer' before.*`ferlab data delete fer`"):
        import_dataset(store, src, "fer")
    deleted, used = delete_dataset(store, "fer")
    assert deleted.id == old.id and used == [] and not Path(old.cache_path).exists()
    again = import_dataset(store, src, "fer")
    assert again.created and again.dataset.counts["train"][3] == 2


def test_a_lost_cache_names_the_import_that_makes_it_again(store, tmp_path, rng):
    src = tmp_path / "src"
    make_folder_layout(src, {"train": 3, "val": 1}, rng=rng)
    info = import_dataset(store, src, "fer").dataset
    Path(info.cache_path).unlink()                          # a user cleaned .ferlab/datasets by hand
    for read in (lambda: load_dataset(store, "fer"), lambda: read_split(store, "fer", "val"),
                 lambda: sample_faces(info)):
        with pytest.raises(DataError, match=rf"cache of data set 'fer' .* is gone; `ferlab data import {src} --name fer`"):
            read()
    again = import_dataset(store, src, "fer")               # that command, as the message gives it
    assert again.created and load_dataset(store, "fer").splits["val"].labels.size == 7


def test_delete_keeps_runs_refuses_busy_ones_and_the_demo_set(store, tmp_path, rng):
    src = tmp_path / "src"
    make_folder_layout(src, {"train": 3, "val": 1}, rng=rng)
    info = import_dataset(store, src, "fer").dataset
    done = store.create_job("train", {"data": "fer", "epochs": 1}, status="completed")
    busy = store.create_job("train", {"data": "fer", "epochs": 1}, status="running")
    store.create_job("train", {"data": "demo", "epochs": 1})                      # another data set's
    with pytest.raises(DataError, match=rf"job {busy.id} \(running\) uses 'fer'; cancel it"):
        delete_dataset(store, "fer")
    assert store.get_dataset("fer").id == info.id and Path(info.cache_path).exists()   # nothing removed
    store.set_job_status(busy.id, "cancelled")
    assert delete_dataset(store, "fer")[1] == [done.id, busy.id]
    assert store.find_dataset(name="fer") is None and store.get_job(done.id).status == "completed"
    with pytest.raises(NotFound, match="no data set named 'fer'"):
        delete_dataset(store, "fer")
    ensure_demo(store)
    with pytest.raises(DataError, match="built-in synthetic demo set"):
        delete_dataset(store, "demo")


def test_fatal_import_leaves_no_cache_and_no_row(store, home, tmp_path):
    (tmp_path / "src" / "train" / "happy").mkdir(parents=True)
    (tmp_path / "src" / "train" / "happy" / "a.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="no readable images"):
        import_dataset(store, tmp_path / "src", "broken")
    assert store.list_datasets() == []
    assert not list(home.rglob("*.npz*"))


def test_failed_registration_removes_the_cache_file(store, home, tmp_path, rng, monkeypatch):
    src = tmp_path / "src"
    make_folder_layout(src, {"train": 2, "val": 1}, rng=rng)

    def locked(**_):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(store, "add_dataset", locked)
    with pytest.raises(RuntimeError):
        import_dataset(store, src, "x")
    assert not list(home.rglob("*.npz*"))


def test_skipped_items_are_counted_in_the_report(store, tmp_path, rng):
    src = tmp_path / "src"
    make_folder_layout(src, {"train": 2, "val": 1}, rng=rng)
    (src / "train" / "fear" / "zero.jpg").write_bytes(b"")
    report = import_dataset(store, src)
    assert report.dataset.skipped == 1 and "zero.jpg: empty file" in report.dataset.problems[0]
    assert len(report.problems) == 1


def test_demo_name_is_reserved_and_unknown_names_say_what_to_do(store, tmp_path, rng):
    make_folder_layout(tmp_path / "src", {"train": 2, "val": 1}, rng=rng)
    with pytest.raises(DataError, match="reserved"):
        import_dataset(store, tmp_path / "src", "demo")
    with pytest.raises(NotFound, match="ferlab data import"):
        load_dataset(store, "fer2013")


def test_load_reads_a_path_directly(store, tmp_path, rng):
    make_folder_layout(tmp_path / "only_test", {"test": 2}, rng=rng)
    ds = load_dataset(store, str(tmp_path / "only_test"))
    assert list(ds.splits) == ["test"] and ds.eval_split() == "test"


def test_demo_set_is_deterministic_synthetic_and_registered(store):
    a, b = demo_dataset(), demo_dataset()
    np.testing.assert_array_equal(a["train"].images, b["train"].images)
    # the pixels of "ferlab:demo-synthetic-v1" as first drawn: a store's cached demo set and a new one's agree
    drawn = hashlib.sha256()
    for split in ("train", "val", "test"):
        drawn.update(a[split].images.tobytes())
        drawn.update(a[split].labels.tobytes())
    assert drawn.hexdigest() == "c67d64157b95497b8d611e0df8ffb69f5526f33eadad9259cfe38f347c0336f6"
    assert a.synthetic and a.counts() == {"train": [160] * 7, "val": [40] * 7, "test": [40] * 7}
    # the classes differ in their mean face: a model has something real to learn
    means = np.stack([a["train"].images[a["train"].labels == c].mean(axis=0) for c in range(7)])
    assert np.abs(means[3] - means[4]).mean() > 1.0
    info = ensure_demo(store)
    assert info.synthetic and info.name == "demo" and ensure_demo(store).id == info.id
    assert load_dataset(store, "demo").synthetic


@pytest.mark.fer2013
def test_whole_fer2013_import_matches_its_readme(store, fer2013):
    report = import_dataset(store, fer2013, "fer2013")
    counts = report.dataset.counts
    #                  angry disgust fear happy  sad surprise neutral
    assert counts["train"] == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert counts["val"] == [467, 56, 496, 895, 653, 415, 607]
    assert sum(counts["train"]) == 28709 and sum(counts["val"]) == 3589
    assert report.dataset.skipped == 0 and not report.dataset.val_from_train
    assert load_dataset(store, "fer2013")["train"].images.shape == (28709, 48, 48)
