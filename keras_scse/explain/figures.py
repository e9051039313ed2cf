"""Figures (matplotlib's object API, no pyplot: no global state, no display needed): the image, its Grad-CAM
(or Grad-CAM++) overlay, the top-k classes, and the attention maps of each stage; one PNG per image."""

import os

import numpy as np
from keras import ops
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from keras_scse.applications.presets import from_preset, model_card
from keras_scse.explain.attention import attention_maps
from keras_scse.explain.gradcam import METHODS, grad_cam
from keras_scse.explain.inputs import model_images


def stage_maps(attention):
    """The last layer of each run of attention layers whose gates have the same shapes (one per stage)."""
    keys = list(attention)
    shapes = [tuple((name, np.shape(g)) for name, g in attention[key].items() if np.ndim(g)) for key in keys]
    return {key: attention[key] for i, key in enumerate(keys) if i + 1 == len(keys) or shapes[i + 1] != shapes[i]}


def displayable(image):
    """(H, W) or (H, W, 3) in [0, 1] for imshow, whatever the pixel scale."""
    image = np.asarray(image, "float32")
    image = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def draw_gate(ax, title, name, gate):
    """A 2-D gate as an image (0..1; SCA's directional gates: rows or columns x channels), a 1-D one
    (channels) as bars."""
    if np.ndim(gate) == 1:
        ax.bar(np.arange(len(gate)), gate, width=1.0, color="tab:blue")
        ax.set_ylim(0, 1)
        ax.set_xlabel("channel")
    else:
        ax.imshow(gate, vmin=0, vmax=1, cmap="viridis", aspect="auto", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("channel" if name in ("height", "width") else "", fontsize=7)
        ax.set_ylabel({"height": "row", "width": "column"}.get(name, ""), fontsize=7)
    ax.set_title(title, fontsize=7)


def plot_explanation(image, heat=None, top_k=None, attention=None, path=None, title=None, heat_title="Grad-CAM"):
    """One image's explanation as a matplotlib Figure, saved as a PNG when ``path`` is given.

    Row 1: the image, the ``heat`` map (H, W) in [0, 1] over it (titled ``heat_title``), the ``top_k`` [(class name,
    probability)] as bars. Then one row per stage: the gates of that stage's last attention layer from
    ``attention`` = {layer: {gate: array}} for this image (``attention_maps(...)`` indexed at the image;
    spatial gates as maps, channel gates as bars)."""
    stages = stage_maps(attention or {})
    columns = max([3] + [sum(np.ndim(g) > 0 for g in gates.values()) for gates in stages.values()])
    figure = Figure(figsize=(2.6 * columns, 2.6 * (1 + len(stages))), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1 + len(stages), columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    shown = displayable(image)
    grey = {"cmap": "gray"} if shown.ndim == 2 else {}
    axes[0, 0].imshow(shown, **grey)
    axes[0, 0].set_title(title or "image", fontsize=8)
    if heat is not None:
        axes[0, 1].imshow(shown, **grey)
        axes[0, 1].imshow(heat, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        axes[0, 1].set_title(heat_title, fontsize=8)
    if top_k:
        ax = axes[0, 2]
        ax.set_axis_on()
        names, probs = zip(*top_k)
        ax.barh(np.arange(len(names))[::-1], probs, color="tab:orange")
        ax.set_yticks(np.arange(len(names))[::-1], [str(n) for n in names], fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_title("top classes", fontsize=8)
    for row, (key, gates) in enumerate(stages.items(), start=1):
        gamma = f" (gamma {gates['gamma']:.2f})" if "gamma" in gates else ""
        for col, (name, gate) in enumerate((n, g) for n, g in gates.items() if np.ndim(g)):
            axes[row, col].set_axis_on()
            draw_gate(axes[row, col], f"{key}: {name}{gamma}", name, gate)
    if path:
        figure.savefig(path, dpi=100)
    return figure


def plot_grid(images, heat, captions, path=None, columns=8):
    """Many images at a glance: each image above its Grad-CAM overlay, with a caption (e.g. "coat 97%, true
    coat"); saved as a PNG when ``path`` is given."""
    rows = -(-len(images) // columns)
    figure = Figure(figsize=(1.5 * columns, 3.1 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(2 * rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for i, (image, caption) in enumerate(zip(images, captions)):
        top, bottom = axes[2 * (i // columns), i % columns], axes[2 * (i // columns) + 1, i % columns]
        shown = displayable(image)
        grey = {"cmap": "gray"} if shown.ndim == 2 else {}
        top.imshow(shown, **grey)
        top.set_title(caption, fontsize=7)
        bottom.imshow(shown, **grey)
        bottom.imshow(heat[i], cmap="jet", alpha=0.45, vmin=0, vmax=1)
    if path:
        figure.savefig(path, dpi=100)
    return figure


def explain_images(model, images, folder, class_names=None, top=3, class_index=None, layer=None, method="grad_cam"):
    """One PNG per image in ``folder`` ("explain_{i}.png", returned) with the image, its heat map (``grad_cam``
    with ``layer`` and ``method``), top-k classes and attention, and all of them in "grid.png" (``plot_grid``).

    ``model``: a model, or a preset name ("SCSENet44/fashion_mnist"), built with its weights and its model
    card's class names (``class_names`` overrides them; default "class i")."""
    if isinstance(model, str):
        class_names = class_names or model_card(model)["class_names"] or None
        model = from_preset(model)
    x = model_images(model, images)
    probabilities = ops.convert_to_numpy(model(x, training=False))
    heat = grad_cam(model, x, class_index=class_index, layer=layer, method=method)
    maps = attention_maps(model, x)
    os.makedirs(folder, exist_ok=True)
    paths, names = [], class_names or [f"class {c}" for c in range(probabilities.shape[-1])]
    best = probabilities.argmax(-1)
    plot_grid(x, heat, [f"{names[c]} {probabilities[i, c]:.0%}" for i, c in enumerate(best)],
              os.path.join(folder, "grid.png"))
    for i in range(len(x)):
        best = np.argsort(-probabilities[i])[:top]
        top_k = [(class_names[c] if class_names else f"class {c}", float(probabilities[i, c])) for c in best]
        one = {key: {name: gate if np.ndim(gate) == 0 else gate[i] for name, gate in gates.items()}
               for key, gates in maps.items()}
        paths.append(os.path.join(folder, f"explain_{i}.png"))
        plot_explanation(x[i], heat[i], top_k, one, paths[-1], title=f"image {i}", heat_title=METHODS[method])
    return paths
