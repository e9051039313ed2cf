"""`keras-scse demo`: build SCSENet44, show its costs, and watch it learn real Fashion-MNIST images."""

import numpy as np

from keras_scse import applications, bench, data, training
from keras_scse.applications import squeezenext


def describe(model_name, input_shape, classes):
    model = applications.get_model(model_name, input_shape=input_shape, classes=classes)
    params = bench.count_params(model)
    flops = bench.count_flops(model)
    blocks = squeezenext.VARIANTS[model_name]["blocks"]
    print(f"{model_name}: {squeezenext.depth(blocks)} layers (SqueezeNext naming), blocks {blocks}, "
          f"input {input_shape}, {classes} classes")
    print(f"  parameters: {params['trainable']:,} trainable + {params['non_trainable']:,} BN statistics "
          f"= {params['total']:,}")
    print(f"  cost per image: {flops['macs'] / 1e6:.2f}M multiply-adds, {flops['flops'] / 1e6:.2f}M FLOPs")


def show_predictions(model, images, labels, class_names, title):
    predicted = np.argmax(model.predict(images, verbose=0), axis=-1)
    print(f"{title} (the test accuracy is over all 10,000):")
    for p, t in zip(predicted, labels):
        print(f"  {'ok ' if p == t else 'NO '} predicted {class_names[p]:<12} true {class_names[t]}")


def run(epochs=3, limit=6000, run_dir="runs/demo"):
    test_ds, info = data.load("fashion_mnist", "test", image_size=32, batch_size=8, limit=8)
    images, labels = next(iter(test_ds))
    images, labels = np.asarray(images), np.asarray(labels)
    describe("SCSENet44", info.image_shape, info.num_classes)
    config = training.TrainConfig(model="SCSENet44", dataset="fashion_mnist", image_size=32, epochs=epochs,
                                  limit=limit, run_dir=run_dir)
    print(f"\nTraining on the first {limit} Fashion-MNIST training images for {epochs} epochs "
          "(the full run is in benchmarks/; first epoch includes graph tracing) ...")
    training.train(config, fresh=True, verbose=2)
    import keras

    best = keras.saving.load_model(f"{run_dir}/best.keras")
    show_predictions(best, images, labels, info.class_names, "\nThe first 8 test images")
    show_shipped_weights(images, labels, info)


def show_shipped_weights(images, labels, info):
    """What the full budget gives: the packaged checkpoint on all 10,000 test images."""
    model = applications.SCSENet44(weights="fashion_mnist", classes=info.num_classes)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    test_ds, _ = data.load("fashion_mnist", "test", image_size=32, batch_size=500)
    _, accuracy = model.evaluate(test_ds, verbose=0)
    print(f"\nThe shipped weights, SCSENet44(weights=\"fashion_mnist\") (40 epochs on all 54,000 training "
          f"images): test accuracy {accuracy:.2%} on the 10,000 test images")
    show_predictions(model, images, labels, info.class_names, "Their predictions for the same 8 images")
