"""keras_scse.data: every source (arrays, image folders, TFDS via mock_data, local Fashion-MNIST idx files) ends
in the same pipeline; splits are disjoint and cover the data; bad input fails early with a useful message."""

import gzip
import os
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_scse import data


def collect(ds):
    """All (images, labels) of a batched pipeline as numpy arrays."""
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(images), np.concatenate(labels)


def indexed_arrays(n=200, size=6, classes=4):
    """Images whose pixels all hold their own index (uint8), labels index % classes: splits can be traced."""
    x = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None, None], size, 1).repeat(size, 2)
    return x, np.arange(n) % classes


def ids(images):
    return set(np.round(images[:, 0, 0, 0] * 255).astype(int).tolist())


# ---------------------------------------------------------------- arrays

def test_arrays_pipeline_types_range_and_info():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (50, 8, 8), dtype=np.uint8), np.arange(50) % 3
    ds, info = data.load((x, y), "train", batch_size=8, val_fraction=0.2, test_fraction=0.2)
    images, labels = collect(ds)
    assert images.dtype == np.float32 and labels.dtype == np.int32
    assert images.shape == (30, 8, 8, 1) and info.image_shape == (8, 8, 1)  # (N, H, W) gets a channel axis
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.max() > 0.9
    assert info.num_examples == 30 and info.num_classes == 3 and info.class_names == ("0", "1", "2")
    assert ds.element_spec[0].shape.as_list() == [None, 8, 8, 1]


def test_arrays_splits_are_disjoint_cover_everything_and_follow_the_seed():
    x, y = indexed_arrays()
    split_ids = {}
    for split in data.SPLITS:
        ds, info = data.load((x, y), split, batch_size=32, seed=3)
        images, labels = collect(ds)
        split_ids[split] = ids(images)
        assert len(split_ids[split]) == len(images) == info.num_examples
        assert all(label == i % 4 for i, label in zip(np.round(images[:, 0, 0, 0] * 255).astype(int), labels))
    assert [len(v) for v in split_ids.values()] == [160, 20, 20]
    assert not (split_ids["train"] & split_ids["validation"]) and not (split_ids["train"] & split_ids["test"])
    assert not (split_ids["validation"] & split_ids["test"])
    assert set.union(*split_ids.values()) == set(range(200))
    same, _ = data.load((x, y), "validation", seed=3)
    other, _ = data.load((x, y), "validation", seed=4)
    assert ids(collect(same)[0]) == split_ids["validation"]
    assert ids(collect(other)[0]) != split_ids["validation"]


def test_train_split_is_shuffled_each_epoch_but_holds_the_same_examples():
    x, y = indexed_arrays()
    ds, _ = data.load((x, y), "train", batch_size=200, seed=1)
    first, second = collect(ds)[0][:, 0, 0, 0], collect(ds)[0][:, 0, 0, 0]
    assert not np.array_equal(first, second) and np.array_equal(np.sort(first), np.sort(second))


def test_integer_arrays_of_any_dtype_scale_like_uint8():
    x, y = indexed_arrays(n=40)
    as_uint8 = collect(data.load((x, y), "test", batch_size=64)[0])[0]
    as_int64 = collect(data.load((x.astype(np.int64), y), "test", batch_size=64)[0])[0]
    np.testing.assert_array_equal(as_uint8, as_int64)
    floats = collect(data.load((x / 255.0, y), "test", batch_size=64)[0])[0]
    np.testing.assert_allclose(floats, as_uint8, atol=1e-6)


def test_channel_conversion_and_resizing():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (20, 10, 10, 1), dtype=np.uint8)
    rgb = rng.integers(0, 256, (20, 10, 10, 3), dtype=np.uint8)
    y = np.arange(20) % 2
    to_rgb, info = data.load((gray, y), "test", channels=3, batch_size=64)
    images = collect(to_rgb)[0]
    assert images.shape[1:] == (10, 10, 3) == info.image_shape
    np.testing.assert_array_equal(images[..., 0], images[..., 1])
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    to_gray, info = data.load((rgb, y), "test", channels=1, batch_size=64)
    images = collect(to_gray)[0]
    assert images.shape[1:] == (10, 10, 1) == info.image_shape
    expected = collect(data.load((rgb, y), "test", batch_size=64)[0])[0] @ np.array([0.2989, 0.587, 0.114])
    np.testing.assert_allclose(images[..., 0], expected, atol=1e-3)
    resized, info = data.load((rgb, y), "test", image_size=32, channels=1, batch_size=64)
    images = collect(resized)[0]
    assert images.shape[1:] == (32, 32, 1) == info.image_shape
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert data.load((rgb, y), "test", image_size=(12, 20), batch_size=64)[1].image_shape == (12, 20, 3)


def test_augmentation_keeps_shapes_and_range_and_changes_images():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8), np.arange(64) % 2
    plain = collect(data.load((x, y), "train", shuffle=False, batch_size=16)[0])[0]
    augmented_ds, _ = data.load((x, y), "train", shuffle=False, augment=True, batch_size=16)
    augmented = collect(augmented_ds)[0]
    assert augmented.shape == plain.shape and augmented_ds.element_spec[0].shape.as_list() == [None, 16, 16, 3]
    assert 0.0 <= augmented.min() and augmented.max() <= 1.0
    changed = [not np.array_equal(a, p) for a, p in zip(augmented, plain)]
    assert sum(changed) > len(changed) // 2
    # augmentation is for training only
    val = collect(data.load((x, y), "validation", augment=True, batch_size=16)[0])[0]
    np.testing.assert_array_equal(val, collect(data.load((x, y), "validation", batch_size=16)[0])[0])


def test_drop_remainder_and_limit():
    x, y = indexed_arrays(n=100)
    ds, info = data.load((x, y), "train", batch_size=32, drop_remainder=True)
    assert [int(b.shape[0]) for b, _ in ds] == [32, 32] and info.num_examples == 80
    ds, info = data.load((x, y), "train", batch_size=32, limit=10, drop_remainder=True)  # < 1 batch: kept
    assert [int(b.shape[0]) for b, _ in ds] == [10] and info.num_examples == 10


def test_a_small_validation_split_may_hold_one_class():
    x, y = indexed_arrays(n=40, classes=2)
    y = np.where(np.arange(40) < 36, y, 1)  # whatever the carve picks, the source has both classes
    for seed in range(5):
        _, info = data.load((x, y), "validation", val_fraction=0.05, seed=seed)
        assert info.num_examples == 2


def test_array_errors():
    x, y = indexed_arrays(n=40)
    with pytest.raises(ValueError, match="40 images but 39 labels"):
        data.load((x, y[:-1]), "train")
    with pytest.raises(ValueError, match=r"1 class\(es\) \[2\].*at least two"):
        data.load((x, np.full(40, 2)), "train")
    with pytest.raises(ValueError, match=r"labels 0\.\.3 but 2 classes"):
        data.load((x, y), "train", class_names=("cat", "dog"))
    with pytest.raises(ValueError, match=r"Float images must be in \[0, 1\]"):
        data.load((x.astype(np.float32), y), "train")
    with pytest.raises(ValueError, match="Integer images must be in 0..255"):
        data.load((x.astype(np.int32) * 10, y), "train")
    with pytest.raises(ValueError, match="`split` must be one of"):
        data.load((x, y), "valid")
    with pytest.raises(ValueError, match="Cannot convert images with 2 channels"):
        data.load((np.zeros((40, 6, 6, 2), np.uint8), y), "train", channels=3)


def test_class_names_for_arrays():
    x, y = indexed_arrays(n=40, classes=2)
    _, info = data.load((x, y), "train", class_names=("cat", "dog"))
    assert info.class_names == ("cat", "dog") and info.num_classes == 2


# ---------------------------------------------------------------- image folders

def write_png(path, pixels):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tf.io.write_file(path, tf.io.encode_png(tf.constant(pixels, tf.uint8)))


@pytest.fixture
def image_folder(tmp_path):
    """3 classes x 10 images of 12x12; pixel (0, 0) holds a unique id, some images are grayscale."""
    root = tmp_path / "flowers"
    for c, name in enumerate(["tulip", "daisy", "rose"]):
        for i in range(10):
            ident = 10 * c + i
            channels = 1 if i % 3 == 0 else 3
            pixels = np.full((12, 12, channels), 50 + c * 60, np.uint8)
            pixels[0, 0] = ident
            write_png(str(root / name / f"img{i:02d}.png"), pixels)
    (root / "rose" / "notes.txt").write_text("not an image")  # ignored
    (root / ".ipynb_checkpoints").mkdir()  # hidden: not a class
    return root


def test_image_folder_classes_channels_and_splits(image_folder):
    split_ids, split_labels = {}, {}
    for split in data.SPLITS:
        ds, info = data.load(str(image_folder), split, batch_size=8, val_fraction=0.2, test_fraction=0.2, seed=5)
        images, labels = collect(ds)
        assert info.class_names == ("daisy", "rose", "tulip") and info.num_classes == 3
        assert info.image_shape == (12, 12, 3) and images.shape[1:] == (12, 12, 3)  # gray + RGB -> RGB
        assert info.name == "flowers" and info.num_examples == len(images)
        assert 0.0 <= images.min() and images.max() <= 1.0
        split_ids[split] = np.round(images[:, 0, 0, 0] * 255).astype(int)
        split_labels[split] = labels
    # the label matches the folder each id was written to (tulip=ids 0-9, daisy 10-19, rose 20-29)
    folder_of = {0: "tulip", 1: "daisy", 2: "rose"}
    for split in data.SPLITS:
        names = [("daisy", "rose", "tulip")[label] for label in split_labels[split]]
        assert names == [folder_of[i // 10] for i in split_ids[split]]
    sets = {split: set(v.tolist()) for split, v in split_ids.items()}
    assert [len(s) for s in sets.values()] == [18, 6, 6]
    assert set.union(*sets.values()) == set(range(30)) and sum(len(s) for s in sets.values()) == 30
    again = collect(data.load(str(image_folder), "test", val_fraction=0.2, test_fraction=0.2, seed=5)[0])[0]
    assert set(np.round(again[:, 0, 0, 0] * 255).astype(int).tolist()) == sets["test"]


def test_image_folder_to_grayscale_and_resized(image_folder):
    ds, info = data.load(image_folder, "train", channels=1, image_size=20, batch_size=64)
    images, _ = collect(ds)
    assert info.image_shape == (20, 20, 1) and images.shape[1:] == (20, 20, 1)


def test_image_folder_of_different_sizes_needs_image_size(tmp_path):
    write_png(str(tmp_path / "a" / "small.png"), np.zeros((8, 8, 3), np.uint8))
    write_png(str(tmp_path / "b" / "big.png"), np.zeros((16, 12, 3), np.uint8))
    for i in range(8):
        write_png(str(tmp_path / "ab"[i % 2] / f"x{i}.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="different sizes.*image_size"):
        data.load(str(tmp_path), "train", val_fraction=0.0, test_fraction=0.0)
    ds, info = data.load(str(tmp_path), "train", image_size=10, val_fraction=0.0, test_fraction=0.0)
    assert info.image_shape == (10, 10, 3) and collect(ds)[0].shape == (10, 10, 10, 3)


def test_image_folder_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="No images.*class sub-folders"):
        data.load(str(empty), "train")
    (empty / "cats").mkdir()
    with pytest.raises(ValueError, match="No images"):
        data.load(str(empty), "train")
    one = tmp_path / "one"
    for i in range(5):
        write_png(str(one / "cats" / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r"1 class folder\(s\) \['cats'\].*needs >= 2"):
        data.load(str(one), "train")
    for i in range(5):
        write_png(str(one / "dogs" / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
    (one / "dogs" / "3.png").write_bytes(b"\x89PNG but truncated")
    with pytest.raises(ValueError, match=r"1 of 10 image files .* cannot be read; .*dogs/3\.png"):
        data.load(str(one), "train", val_fraction=0.0, test_fraction=0.0)
    with pytest.raises(FileNotFoundError, match="not a folder of class sub-folders"):
        data.load(str(tmp_path / "typo"), "train")


def test_an_empty_class_folder_is_refused_not_made_a_class(image_folder):
    (image_folder / "lily").mkdir()
    (image_folder / "lily" / "readme.txt").write_text("no images yet")
    with pytest.raises(ValueError, match=r"Class folder\(s\) \['lily'\] in .* hold no images.*remove them"):
        data.load(str(image_folder), "train")


def test_a_folder_of_split_folders_is_refused_with_the_folder_to_give(tmp_path):
    for split in ("train", "heldout"):
        for cls in ("a", "b"):
            for i in range(3):
                write_png(str(tmp_path / "digits" / split / cls / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r"holds split folders \['heldout', 'train'\], not one folder per class; "
                                         r"give the training folder, e.g. '.*digits/train'"):
        data.load(str(tmp_path / "digits"), "train")
    _, info = data.load(str(tmp_path / "digits" / "train"), "train", val_fraction=0.0, test_fraction=0.0)
    assert info.class_names == ("a", "b")


# ---------------------------------------------------------------- TFDS (mock_data)

def write_tfds_metadata(root, name, split_sizes):
    """dataset_info.json with the given splits, so mock_data knows which splits exist."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(name)
    info = builder.info
    info.set_splits(tfds.core.SplitDict([tfds.core.SplitInfo(name=split, shard_lengths=[n], num_bytes=0)
                                         for split, n in split_sizes.items()]))
    folder = os.path.join(root, name, str(builder.version))
    os.makedirs(folder)
    info.write_to_directory(folder)


def sliced_as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False):
    """A mock `_as_dataset` that honours split slicing: example i of split s has pixels i (+100 for non-train
    splits) and label i % num_classes, so tests can see which examples a split string selected."""
    import tensorflow_datasets as tfds

    instruction = tfds.core.ReadInstruction.from_spec(str(split)) if isinstance(split, str) else split
    parts = []
    for part in instruction.to_absolute(self.info.splits):
        n = self.info.splits[part.splitname].num_examples
        offset = 0 if part.splitname == "train" else 100
        parts.append(offset + np.arange(part.from_ or 0, n if part.to is None else part.to))
    index = np.concatenate(parts)
    image_key, label_key = self.info.supervised_keys
    shape = [28 if d is None else d for d in self.info.features[image_key].shape]
    images = np.broadcast_to(index.astype(np.uint8)[:, None, None, None], (len(index), *shape))
    labels = index % self.info.features[label_key].num_classes
    return tf.data.Dataset.from_tensor_slices({image_key: images, label_key: labels.astype(np.int64)})


def tfds_ids(name, split, **kwargs):
    ds, info = data.load(name, split, batch_size=64, **kwargs)
    images, labels = collect(ds)
    index = np.round(images[:, 0, 0, 0] * 255).astype(int)
    assert np.array_equal(labels, index % info.num_classes) and info.num_examples == len(index)
    return set(index.tolist()), info


def test_tfds_existing_test_split_and_carved_validation(tmp_path):
    import tensorflow_datasets as tfds

    write_tfds_metadata(str(tmp_path), "mnist", {"train": 100, "test": 30})
    with tfds.testing.mock_data(as_dataset_fn=sliced_as_dataset, data_dir=str(tmp_path)):
        train, info = tfds_ids("mnist", "train")
        validation, _ = tfds_ids("mnist", "validation")
        test, _ = tfds_ids("mnist", "test")
    assert test == set(range(100, 130))  # the real test split
    assert train == set(range(90)) and validation == set(range(90, 100))  # validation carved from train
    assert info.class_names == tuple(str(i) for i in range(10)) and info.image_shape == (28, 28, 1)


def test_tfds_with_validation_but_no_test_carves_a_disjoint_test(tmp_path):
    import tensorflow_datasets as tfds

    write_tfds_metadata(str(tmp_path), "mnist", {"train": 100, "validation": 20})
    with tfds.testing.mock_data(as_dataset_fn=sliced_as_dataset, data_dir=str(tmp_path)):
        train, _ = tfds_ids("mnist", "train")
        validation, _ = tfds_ids("mnist", "validation")
        test, _ = tfds_ids("mnist", "test")
    assert validation == set(range(100, 120))
    assert train == set(range(90)) and test == set(range(90, 100))


def test_tfds_train_only_dataset_carves_validation_and_test(tmp_path):
    import tensorflow_datasets as tfds

    write_tfds_metadata(str(tmp_path), "malaria", {"train": 100})
    with tfds.testing.mock_data(as_dataset_fn=sliced_as_dataset, data_dir=str(tmp_path)):
        train, info = tfds_ids("malaria", "train", image_size=32)
        validation, _ = tfds_ids("malaria", "validation", image_size=32)
        test, _ = tfds_ids("malaria", "test", image_size=32)
    assert train == set(range(80)) and validation == set(range(80, 90)) and test == set(range(90, 100))
    assert info.class_names == ("parasitized", "uninfected") and info.image_shape == (32, 32, 3)


def test_tfds_default_mock_random_images_resized_and_channel_converted():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        ds, info = data.load("malaria", "train", image_size=24, channels=1, batch_size=4)
        images, labels = collect(ds)
    assert images.shape == (12, 24, 24, 1) and info.image_shape == (24, 24, 1)
    assert 0.0 <= images.min() and images.max() <= 1.0 and set(labels.tolist()) <= {0, 1}


def test_unknown_dataset_name_or_missing_path_gets_one_short_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for source in ("no_such_set", "digits_png/train"):  # a relative path that does not exist, too
        with pytest.raises(ValueError, match=rf"'{source}' is neither a folder \(no such path here\) nor a dataset "
                                             r"name\..*image folder.*'fashion_mnist'") as error:
            data.load(source, "train")
        assert len(str(error.value)) < 300 and "\n" not in str(error.value)  # not TFDS' list of every name
    with pytest.raises(ValueError, match=r"Close names: \['fashion_mnist'"):
        data.load("fashion_mnis", "train")


# ---------------------------------------------------------------- local Fashion-MNIST (idx files)

def idx_bytes(array):
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_fashion(folder, n_train=40, n_test=12, labels=None):
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = np.arange(n) % 10 if labels is None else labels[:n]
        arrays[prefix] = images, y
        for kind, array in (("images-idx3", images), ("labels-idx1", y)):
            with gzip.open(os.path.join(folder, f"{prefix}-{kind}-ubyte.gz"), "wb") as f:
                f.write(idx_bytes(array))
    return arrays


def test_fashion_mnist_from_idx_files(tmp_path, monkeypatch):
    arrays = write_fashion(str(tmp_path))
    monkeypatch.setenv("KERAS_SCSE_FASHION_MNIST", str(tmp_path))
    test_ds, info = data.load("fashion_mnist", "test", batch_size=64)
    images, labels = collect(test_ds)
    np.testing.assert_allclose(images[..., 0], arrays["t10k"][0] / 255.0, atol=1e-6)  # in order, unshuffled
    np.testing.assert_array_equal(labels, arrays["t10k"][1])
    assert info.class_names == data.FASHION_MNIST_CLASSES and info.image_shape == (28, 28, 1)
    train, _ = collect(data.load("fashion_mnist", "train", batch_size=64)[0])
    validation, _ = collect(data.load("fashion_mnist", "validation", batch_size=64)[0])
    assert len(train) == 36 and len(validation) == 4  # the test file is not carved from train

    def rows(images):
        return {img.tobytes() for img in np.round(images[..., 0] * 255).astype(np.uint8)}
    assert not rows(train) & rows(validation)
    assert rows(train) | rows(validation) == {img.tobytes() for img in arrays["train"][0]}
    _, info = data.load("fashion_mnist", "test", image_size=32, channels=3)
    assert info.image_shape == (32, 32, 3)


def test_missing_fashion_mnist_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_SCSE_FASHION_MNIST", str(tmp_path))
    monkeypatch.setattr(data.sources, "FASHION_MNIST_DIRS", ())  # where fashion_mnist_dir reads it
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist.*KERAS_SCSE_FASHION_MNIST"):
        data.load("fashion_mnist", "train")


def test_truncated_or_corrupt_idx_files(tmp_path, monkeypatch):
    write_fashion(str(tmp_path))
    monkeypatch.setenv("KERAS_SCSE_FASHION_MNIST", str(tmp_path))
    path = os.path.join(str(tmp_path), "train-images-idx3-ubyte.gz")
    with gzip.open(path, "rb") as f:
        full = f.read()
    with gzip.open(path, "wb") as f:  # a valid gzip holding too few pixels
        f.write(full[:-100])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz is truncated or corrupt: header says"):
        data.load("fashion_mnist", "train")
    with open(path, "wb") as f:  # the gzip stream itself cut short
        f.write(gzip.compress(full)[:200])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz is truncated or corrupt"):
        data.load("fashion_mnist", "train")
    with gzip.open(path, "wb") as f:  # not an idx file
        f.write(b"<html>404</html>")
    with pytest.raises(ValueError, match="does not start with an idx header"):
        data.load("fashion_mnist", "train")


def test_fashion_mnist_labels_out_of_range(tmp_path, monkeypatch):
    write_fashion(str(tmp_path), labels=np.arange(40) % 12)
    monkeypatch.setenv("KERAS_SCSE_FASHION_MNIST", str(tmp_path))
    with pytest.raises(ValueError, match=r"labels 0\.\.11 but 10 classes"):
        data.load("fashion_mnist", "test")


# ---------------------------------------------------------------- image folders: mixed channels, unreadable files

@pytest.fixture
def mixed_folder(tmp_path):
    """2 classes x 6 images of 6x6: one RGB, one RGBA (alpha 7), four grey; pixel value 10 * class + i."""
    root = tmp_path / "mixed"
    for c, name in enumerate(["a", "b"]):
        for i in range(6):
            channels = {0: 3, 1: 4}.get(i, 1)
            pixels = np.full((6, 6, channels), 10 * c + i, np.uint8)
            if channels == 4:
                pixels[..., 3] = 7
            write_png(str(root / name / f"{i}.png"), pixels)
    return root


def test_mixed_grey_rgb_rgba_folder_has_one_channel_count_in_every_split(mixed_folder):
    """The default channel count is the whole folder's (3 here), not each split's: a split that happens to hold
    only grey images used to come out with 1 channel, and the model trained on 3 failed on it."""
    for seed in range(5):
        for split in data.SPLITS:
            ds, info = data.load(str(mixed_folder), split, seed=seed, val_fraction=0.2, test_fraction=0.2)
            images, _ = collect(ds)
            assert info.image_shape == (6, 6, 3) and images.shape[1:] == (6, 6, 3)
    all_images, _ = collect(data.load(str(mixed_folder), "train", val_fraction=0.0, test_fraction=0.0)[0])
    values = np.round(all_images * 255).astype(int)
    ident = values[:, 0, 0, 0]
    assert sorted(ident.tolist()) == [10 * c + i for c in range(2) for i in range(6)]
    assert (values == ident[:, None, None, None]).all()  # grey replicated, alpha (7) dropped
    grey, _ = collect(data.load(str(mixed_folder), "train", channels=1, val_fraction=0.0, test_fraction=0.0)[0])
    assert grey.shape[1:] == (6, 6, 1) and (np.abs(np.round(grey * 255) - np.round(grey[:, :1, :1] * 255)) == 0).all()


def test_grey_with_alpha_counts_as_grey(tmp_path):
    for i in range(6):
        write_png(str(tmp_path / "ab"[i % 2] / f"{i}.png"), np.full((4, 4, 1 + i % 2), 9, np.uint8))
    _, info = data.load(str(tmp_path), "train", val_fraction=0.2, test_fraction=0.2)
    assert info.image_shape == (4, 4, 1)


def test_unreadable_files_are_all_listed_up_front_or_skipped(tmp_path):
    for i in range(10):
        write_png(str(tmp_path / "ab"[i % 2] / f"{i}.png"), np.full((4, 4, 3), i, np.uint8))
    (tmp_path / "a" / "broken.png").write_bytes(b"\x89PNG but truncated")
    (tmp_path / "b" / "notes.jpg").write_text("not a jpeg")
    # the validation split is loaded first: the list still names the files of every split
    with pytest.raises(ValueError) as caught:
        data.load(str(tmp_path), "validation", val_fraction=0.2, test_fraction=0.2)
    message = str(caught.value)
    assert message.startswith("2 of 12 image files") and "a/broken.png" in message and "b/notes.jpg" in message
    assert "skip_unreadable=True" in message and "--skip-unreadable" in message
    seen = set()
    for split in data.SPLITS:
        with pytest.warns(UserWarning, match="Skipping 2 unreadable image files"):
            ds, info = data.load(str(tmp_path), split, val_fraction=0.2, test_fraction=0.2, skip_unreadable=True)
        ids_ = ids(collect(ds)[0])
        assert not ids_ & seen
        seen |= ids_
    assert seen == set(range(10))


def test_decoding_shows_progress_once_per_folder_and_leaves_it_on_screen(mixed_folder, capsys, monkeypatch):
    for split in data.SPLITS:
        data.load(str(mixed_folder), split, val_fraction=0.2, test_fraction=0.2)
    err = capsys.readouterr().err
    assert err.count("decoding mixed") >= 1 and "100%" in err  # tqdm, finished bar kept
    assert len({line for line in err.replace("\r", "\n").splitlines() if "100%" in line}) == 1  # not once a split
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # not installed: a Keras progress bar
    assert list(data.progress(["a", "b", "c"], "decoding")) == ["a", "b", "c"]
    assert "3/3" in capsys.readouterr().out


def test_many_unreadable_files_are_counted_and_the_list_is_cut(tmp_path):
    for i in range(4):
        write_png(str(tmp_path / "ab"[i % 2] / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
    for i in range(25):
        (tmp_path / "a" / f"bad{i:02d}.png").write_text("no")
    with pytest.raises(ValueError, match=r"^25 of 29 image files .*skip_unreadable=True.*bad09\.png \([^)]*\); "
                                         r"and 15 more\.$"):
        data.load(str(tmp_path), "train")


def test_bad_sizes_and_batch_sizes(image_folder):
    for size in (0, -5, (4, 0)):
        with pytest.raises(ValueError, match="`image_size` must be a positive int"):
            data.load(str(image_folder), "train", image_size=size)
    for batch in (0, -4, 2.5):
        with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
            data.load(str(image_folder), "train", batch_size=batch)
    with pytest.raises(ValueError, match="`channels` must be 1, 3 or None"):
        data.load(str(image_folder), "train", channels=4)


# ---------------------------------------------------------------- the numpy pipeline (no TensorFlow)

def numpy_collect(batches):
    images, labels = zip(*[batches[i] for i in range(len(batches))])
    return np.concatenate(images), np.concatenate(labels)


@pytest.mark.parametrize("image_size, channels", [(None, None), (8, 3), (11, 1)])
def test_numpy_pipeline_gives_what_tf_data_gives(image_size, channels):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (40, 6, 6, 3), dtype=np.uint8), np.arange(40) % 4
    for split in data.SPLITS:
        kwargs = dict(split=split, image_size=image_size, channels=channels, batch_size=7, shuffle=False, seed=3)
        ds, info = data.load((x, y), **kwargs, pipeline="tf.data")
        batches, numpy_info = data.load((x, y), **kwargs, pipeline="numpy")
        assert isinstance(batches, data.ArrayBatches) and numpy_info == info
        want, got = collect(ds), numpy_collect(batches)
        np.testing.assert_allclose(got[0], want[0], atol=2e-6)
        np.testing.assert_array_equal(got[1], want[1])
        assert got[0].dtype == np.float32 and got[1].dtype == np.int32


def test_numpy_pipeline_shuffles_each_epoch_augments_and_one_hots():
    x, y = indexed_arrays(n=64, size=8)
    batches, _ = data.load((x, y), "train", batch_size=16, augment="flip_crop", pipeline="numpy",
                           drop_remainder=True, val_fraction=0.25)
    first = ids(numpy_collect(batches)[0])
    assert len(batches) == 2 and len(first) <= 32  # 36 train images, 4 left out by drop_remainder
    batches.on_epoch_end()
    assert numpy_collect(batches)[0].shape == (32, 8, 8, 1)
    plain, _ = data.load((x, y), "train", batch_size=36, pipeline="numpy", val_fraction=0.25, shuffle=False)
    augmented, _ = data.load((x, y), "train", batch_size=36, pipeline="numpy", val_fraction=0.25, shuffle=False,
                             augment="crop")
    images, cropped = plain[0][0], augmented[0][0]
    assert 0.0 <= cropped.min() and cropped.max() <= 1.0 and (cropped == 0).any() and not (images == 0).all()
    assert not np.array_equal(images, cropped)  # the padded crop moved (or zeroed) some pixels
    hot = batches.with_one_hot(4)[0][1]
    assert hot.shape == (16, 4) and hot.dtype == np.float32 and set(hot.sum(axis=1)) == {1.0}
    assert len(batches.take(5)) == 2
    with pytest.raises(IndexError):
        batches[2]


def test_numpy_pipeline_refuses_sources_that_need_tf_data(image_folder):
    with pytest.raises(ValueError, match="numpy pipeline reads .* arrays .* needs tf.data: install TensorFlow"):
        data.load(str(image_folder), "train", pipeline="numpy")
    with pytest.raises(ValueError, match="`pipeline` must be one of"):
        data.load(indexed_arrays(), "train", pipeline="grain")
