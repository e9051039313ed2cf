"""``keras-scse explain``: Grad-CAM and the attention maps of a model on image files, one PNG per image and an
index page."""

import html
import os

from keras_scse.cli.common import keras_file, positive_int


def image_paths(sources):
    """The image files named by ``sources`` (files, or folders searched recursively), in a stable order."""
    from keras_scse.data.folders import IMAGE_EXTENSIONS

    found = []
    for source in sources:
        if os.path.isdir(source):
            found += sorted(os.path.join(folder, name) for folder, _, names in os.walk(source) for name in names
                            if name.lower().endswith(IMAGE_EXTENSIONS))
        elif os.path.isfile(source):
            found.append(source)
        else:
            raise FileNotFoundError(f"{source!r} is neither an image file nor a folder; give image files or folders.")
    if not found:
        raise ValueError(f"No image files ({', '.join(IMAGE_EXTENSIONS)}) in {list(sources)}.")
    return found


def read_images(paths, shape):
    """The files as one float batch in [0, 1] at the model's (H, W, C), grey or RGB as the model takes, with
    a progress bar when there are many."""
    import keras
    import numpy as np

    height, width, channels = shape
    mode = {1: "grayscale", 3: "rgb"}.get(channels)
    if mode is None:
        raise ValueError(f"The model takes {channels}-channel images; explain reads grey (1) or RGB (3) files only.")
    bar = keras.utils.Progbar(len(paths), unit_name="image") if len(paths) > 16 else None
    batch = []
    for i, path in enumerate(paths):
        image = keras.utils.load_img(path, color_mode=mode, target_size=(height, width))
        batch.append(keras.utils.img_to_array(image) / 255.0)
        if bar:
            bar.update(i + 1)
    return np.stack(batch).astype("float32")


def dataset_images(name, shape, limit):
    """The first ``limit`` test images of a dataset (``keras_scse.data.load``) at the model's shape."""
    import numpy as np

    from keras_scse import data

    batches, _ = data.load(name, "test", image_size=shape[:2], channels=shape[2], limit=limit, batch_size=limit)
    images = np.asarray(next(iter(batches))[0])
    return [f"{name} test image {i}" for i in range(len(images))], images


def write_index(folder, paths, pictures):
    rows = "\n".join(f'<figure><img src="{os.path.basename(p)}" width="640"><figcaption>{html.escape(src)}'
                     "</figcaption></figure>" for src, p in zip(paths, pictures))
    index = os.path.join(folder, "index.html")
    with open(index, "w") as f:
        f.write(f"<!doctype html><meta charset=utf-8><title>keras-scse explain</title>\n{rows}\n")
    return index


def cmd_explain(args):
    import keras

    from keras_scse import applications, explain

    if args.model_path:
        model, class_names = keras.saving.load_model(args.model_path, compile=False), None
    else:
        model, class_names = applications.from_preset(args.preset), applications.model_card(args.preset)["class_names"]
    shape = model.input_shape[1:]
    if None in shape[:2]:
        shape = (args.image_size, args.image_size, shape[2])
    if args.dataset:
        paths, images = dataset_images(args.dataset, shape, args.limit)
    else:
        paths = image_paths(args.images)
        images = read_images(paths, shape)
    pictures = explain.explain_images(model, images, args.out, class_names=list(class_names or []) or None,
                                      top=args.top, layer=args.layer, method=args.method)
    print(f"wrote {len(pictures)} explanation(s) and {write_index(args.out, paths, pictures)}")
    return 0


def add_explain(sub):
    ex = sub.add_parser("explain", help="Grad-CAM and attention maps of a model on images: a PNG each and an index")
    source = ex.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="a registered preset, e.g. SCSENet44/fashion_mnist (its class names too)")
    source.add_argument("--model-path", type=keras_file, help="a .keras model file")
    ex.add_argument("images", nargs="*", help="image files or folders (searched recursively)")
    ex.add_argument("--dataset", help="instead of files: the first --limit test images of a dataset, e.g. "
                    "fashion_mnist")
    ex.add_argument("--limit", type=positive_int, default=16, help="images taken from --dataset")
    ex.add_argument("--out", required=True, help="folder for explain_<i>.png and index.html")
    ex.add_argument("--top", type=positive_int, default=3, help="classes listed per image")
    ex.add_argument("--layer", default=None, help="Grad-CAM layer: a layer name or P2..P5 (default: the deepest "
                    "feature map with at least 8x8 cells)")
    # explain.gradcam.METHODS, written out: the parser is built before Keras is imported
    ex.add_argument("--method", choices=["grad_cam", "grad_cam++"], default="grad_cam",
                    help="the heat map: Grad-CAM, or Grad-CAM++, which points at the object more often but fails "
                    "the sanity check of re-initialising the top layers (docs/explain.md)")
    ex.add_argument("--image-size", type=positive_int, default=64,
                    help="size the images are resized to when the model takes any size")
    ex.set_defaults(func=cmd_explain)


def check_explain(parser, args):
    if bool(args.images) == bool(args.dataset):
        parser.error("give image files or folders, or --dataset NAME (one of them)")
