"""Streaming inputs: every input form, order, duplicates, per-file errors, bounded decoding."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from PIL import Image

from keras_alexnet.batch import inputs as batch_inputs
from keras_alexnet.batch.inputs import check_inputs, count_inputs, decode_stream, expand_inputs
from keras_alexnet.eval_preprocessing import eval_preprocessing
from keras_alexnet.image_io import load_image

SPEC = eval_preprocessing("torch", resize=64, crop=56)


def keys(specs, **kwargs):
    return [item.key for item in expand_inputs(specs, **kwargs)]


def test_every_input_form(awkward_dir, tmp_path, monkeypatch):
    folder, readable, unreadable = awkward_dir
    every = sorted(readable + unreadable, key=lambda name: (os.path.dirname(name) != "", name))
    # A folder: recursively, sorted in each folder, the folder's own files before its sub-folders'.
    walked = [os.path.relpath(k, folder) for k in keys([str(folder)])]
    assert walked == [n for n in every if "/" not in n] + ["nested/flower.jpg", "nested/gray.png"] + [
        "nested/deeper/cmyk.jpg"
    ]
    # A glob (recursive), sorted; an explicit file with an extension the folder walk would not pick.
    odd = tmp_path / "photo.image"
    odd.write_bytes((folder / "photo.jpg").read_bytes())
    globbed = keys([str(folder / "**" / "*.jpg"), str(odd)])
    assert [os.path.relpath(k, folder) for k in globbed[:-1]] == sorted(
        n for n in readable + unreadable if n.endswith(".jpg")
    )
    assert globbed[-1] == str(odd)
    # A list file: relative to its folder, comments and blank lines skipped; a missing file is kept (its error).
    listing = folder / "nested" / "list.txt"
    listing.write_text("# chosen\nflower.jpg\n\n  gray.png  \n" + f"{folder / 'photo.jpg'}\nmissing.jpg\n")
    assert keys([f"@{listing}"]) == [
        os.path.join(folder / "nested", "flower.jpg"),
        os.path.join(folder / "nested", "gray.png"),
        str(folder / "photo.jpg"),
        os.path.join(folder / "nested", "missing.jpg"),
    ]
    # Each image once, whatever names it twice; `skip` leaves inputs out (what --resume passes).
    assert keys([str(folder / "photo.jpg"), str(folder / "photo.jpg")]) == [str(folder / "photo.jpg")]
    done = {str(folder / "photo.jpg")}
    assert str(folder / "photo.jpg") not in keys([str(folder)], skip=done)
    assert count_inputs([str(folder), f"@{listing}"]) == len(every) + 4


def test_only_keys_that_can_come_again_are_kept(tmp_path):
    """Streaming one folder holds no key per image; keys that a later input or a list may repeat are kept."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.zeros((8, 8, 3), "uint8")).save(folder / name)
    kept: set[str] = set()
    assert len(keys([str(folder)], skip=kept)) == 2 and kept == set()
    # A folder followed by a file in it, and a list naming a path twice: each image once.
    assert keys([str(folder), str(folder / "a.png")], skip=kept) == [str(folder / "a.png"), str(folder / "b.png")]
    listing = tmp_path / "list.txt"
    listing.write_text("photos/b.png\nphotos/a.png\nphotos/b.png\n")
    assert keys([f"@{listing}"]) == [str(folder / "b.png"), str(folder / "a.png")]
    assert keys([str(tmp_path / "photos" / "*.png"), str(folder)]) == [str(folder / "a.png"), str(folder / "b.png")]


def test_bad_inputs_are_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="matches no file"):
        check_inputs([str(tmp_path / "*.jpg")])
    with pytest.raises(ValueError, match="list file"):
        check_inputs([f"@{tmp_path / 'nowhere.txt'}"])
    with pytest.raises(ValueError, match="tfds:NAME:SPLIT"):
        check_inputs(["tfds:mnist"])
    with pytest.raises(ValueError, match="at least one"):
        check_inputs([])


def test_decoding_is_load_image_with_per_file_errors(awkward_dir, tmp_path):
    folder, readable, unreadable = awkward_dir
    (tmp_path / "empty_folder").mkdir()
    specs = [str(folder), str(tmp_path / "missing.jpg"), str(tmp_path / "empty_folder")]
    decoded = list(decode_stream(expand_inputs(specs), SPEC, workers=3, in_flight=2))
    assert [d.key for d in decoded] == keys(specs)  # input order, whatever thread finished first
    by_name = {os.path.relpath(d.key, folder): d for d in decoded}
    for name in readable:
        expected = load_image(folder / name, size=SPEC.crop, resize=SPEC.resize, resize_mode=SPEC.resize_mode)
        np.testing.assert_array_equal(by_name[name].image, expected)
        assert by_name[name].error is None
    assert by_name["rotated.jpg"].image.shape == (56, 56, 3)
    for name in unreadable:
        assert by_name[name].image is None and str(folder / name) in by_name[name].error
    assert "MAX_IMAGE_PIXELS" in by_name["huge.png"].error
    missing = next(d for d in decoded if d.key.endswith("missing.jpg"))
    assert "No such file" in missing.error
    empty = next(d for d in decoded if d.key.endswith("empty_folder"))
    assert "a folder without image files" in empty.error


def test_decoding_holds_a_bounded_number_of_images(tmp_path, monkeypatch):
    """However slowly results are taken, at most `in_flight` decoded images wait (memory does not grow)."""
    path = tmp_path / "a.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(path)
    started, lock = [0], threading.Lock()
    real = batch_inputs.decode_item

    def counting(item, spec):
        with lock:
            started[0] += 1
        return real(item, spec)

    monkeypatch.setattr(batch_inputs, "decode_item", counting)
    items = (batch_inputs.InputItem(str(path)) for _ in range(200))
    taken = 0
    for _ in decode_stream(items, SPEC, workers=4, in_flight=8):
        taken += 1
        time.sleep(0.002)
        assert started[0] - taken <= 8
    assert taken == 200


def test_a_tfds_split(tmp_path, monkeypatch):
    """tfds:NAME:SPLIT: every record of a prepared split, decoded from its bytes by load_image (a local ImageFolder)."""
    import tensorflow_datasets as tfds

    rng = np.random.default_rng(0)
    for split, count in (("train", 3), ("test", 2)):
        for label in ("cat", "dog"):
            (tmp_path / split / label).mkdir(parents=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(
                    tmp_path / split / label / f"{i}.png"
                )
    builder = tfds.ImageFolder(str(tmp_path))
    monkeypatch.setattr(builder, "is_prepared", lambda: True)  # an ImageFolder reads its files without a build step
    monkeypatch.setattr(tfds, "builder", lambda name, data_dir=None: builder)
    check_inputs(["tfds:pets:validation"])  # an alias of "test", as for --dataset
    items = list(expand_inputs(["tfds:pets:validation"]))
    assert [item.key for item in items] == [f"tfds:pets:test/{i}" for i in range(4)]
    assert count_inputs(["tfds:pets:train"]) == 6
    decoded = list(decode_stream(items, SPEC))
    assert all(d.image is not None and d.image.shape == (56, 56, 3) for d in decoded)
