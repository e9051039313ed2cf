"""A run's data: the train, validation and test splits, read in one place, and their one-hot labels."""

from keras_scse import data


def load_split(dataset, split, batch_size, image_size=None, channels=None, seed=0, val_fraction=0.1,
               data_dir=None, skip_unreadable=False, **options):
    """(pipeline, DataInfo) of one split, with the settings every split of a run shares; ``options``: that
    split's own ``data.load`` options (augment, limit, drop_remainder)."""
    return data.load(dataset, split, image_size=image_size, channels=channels, batch_size=batch_size, seed=seed,
                     val_fraction=val_fraction, data_dir=data_dir, skip_unreadable=skip_unreadable, **options)


def load_splits(dataset, batch_size, image_size=None, channels=None, seed=0, val_fraction=0.1, augment=True,
                limit=None, data_dir=None, skip_unreadable=False):
    """(train, validation, test) pipelines and the DataInfo of train and of test: the one place where a run
    reads its data. The train split drops a partial last batch: one traced shape for the train step, and equal
    batches on every replica."""
    common = dict(image_size=image_size, channels=channels, seed=seed, val_fraction=val_fraction,
                  data_dir=data_dir, skip_unreadable=skip_unreadable)
    train_ds, info = load_split(dataset, "train", batch_size, augment=augment, limit=limit, drop_remainder=True,
                                **common)
    val_ds, _ = load_split(dataset, "validation", batch_size, **common)
    test_ds, test_info = load_split(dataset, "test", batch_size, **common)
    return train_ds, val_ds, test_ds, info, test_info


def one_hot(dataset, num_classes):
    """The pipeline with one-hot labels (what the label-smoothed loss takes): tf.data or numpy batches."""
    if hasattr(dataset, "with_one_hot"):  # data.ArrayBatches
        return dataset.with_one_hot(num_classes)
    import tensorflow as tf

    return dataset.map(lambda x, y: (x, tf.one_hot(y, num_classes)))

