"""The pointing game (Zhang et al., 2016, "Top-down neural attention by excitation backprop"): a map points
at the object when its maximum lies inside the object's box. Small images pasted at random places into a
black canvas give the box for free; a random point scores box area / canvas area."""

import numpy as np

from keras_scse.applications.features import map_sizes
from keras_scse.explain.attention import attention_maps
from keras_scse.explain.gradcam import METHODS, choose_layer, heat_maps


def paste_on_canvas(images, canvas_size, seed):
    """Each image pasted at a random (seeded) place into a black ``canvas_size`` square.

    Returns (canvases (N, S, S, C) in the images' dtype, boxes (N, 4) int: top, left, height, width)."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"`images` must be (N, height, width, channels); received shape {images.shape}.")
    count, height, width = images.shape[:3]
    if height > canvas_size or width > canvas_size:
        raise ValueError(f"{height}x{width} images do not fit a {canvas_size}x{canvas_size} canvas; pass a "
                         f"canvas_size of at least {max(height, width)}.")
    rng = np.random.default_rng(seed)
    tops = rng.integers(0, canvas_size - height + 1, count)
    lefts = rng.integers(0, canvas_size - width + 1, count)
    canvases = np.zeros((count, canvas_size, canvas_size, images.shape[3]), images.dtype)
    for canvas, image, top, left in zip(canvases, images, tops, lefts):
        canvas[top:top + height, left:left + width] = image
    boxes = np.stack([tops, lefts, np.full(count, height), np.full(count, width)], axis=1)
    return canvases, boxes


def peak_points(maps, canvas_size):
    """Each map's maximum as canvas pixel coordinates (y, x), two float arrays (N,).

    ``maps`` (N, H, W) cover the whole canvas at any resolution (a heat map at the canvas' size, or a stage's
    gates at a fraction of it): the maximum cell's centre is scaled to canvas pixels. A maximum shared by several
    cells (a plateau: a resized map repeats its border cells' values up to the edge) is their centroid, not the
    first one, which would pull maxima towards the top-left corner."""
    maps = np.asarray(maps)
    at_peak = maps >= maps.max(axis=(1, 2), keepdims=True)
    count = at_peak.sum(axis=(1, 2))
    y = (at_peak.sum(axis=2) @ np.arange(maps.shape[1]) / count + 0.5) * canvas_size / maps.shape[1]
    x = (at_peak.sum(axis=1) @ np.arange(maps.shape[2]) / count + 0.5) * canvas_size / maps.shape[2]
    return y, x


def pointing_hits(maps, boxes, canvas_size, margin=0):
    """Whether each map's maximum (``peak_points``) lies inside its box (grown by ``margin`` pixels on every
    side): bool (N,). A map with nothing positive has no maximum: a miss."""
    maps = np.asarray(maps)
    if maps.ndim != 3 or len(maps) != len(boxes):
        raise ValueError(f"`maps` must be (N, H, W) with one map per box ({len(boxes)}); received {maps.shape}.")
    y, x = peak_points(maps, canvas_size)
    top, left, height, width = np.asarray(boxes).T
    top, left, height, width = top - margin, left - margin, height + 2 * margin, width + 2 * margin
    inside = (y >= top) & (y < top + height) & (x >= left) & (x < left + width)
    return inside & (maps.max(axis=(1, 2)) > 0)


def peak_cells(maps, canvas_size, cells):
    """The (row, column) of a ``cells`` x ``cells`` grid over the canvas (e.g. the heat map's layer) that each
    map's maximum (``peak_points``) lies on: two int arrays (N,)."""
    return tuple((coordinate * cells / canvas_size).astype(int) for coordinate in peak_points(maps, canvas_size))


EDGES = ("top row or left column", "bottom row or right column", "elsewhere")


def maxima_by_edge(maps, boxes, canvas_size, cells):
    """Where the maps' maxima lie on a ``cells`` x ``cells`` grid over the canvas (the heat map's layer): on its
    top row or left column, else on its bottom row or right column, else elsewhere (``EDGES``).

    Returns {edge: {"maxima": count, "misses": count (``pointing_hits`` false)}}; maps with nothing positive have
    no maximum and are left out. The two sides need not behave alike: at stride 2, 'same' padding puts its extra
    zero row and column below and right."""
    maps = np.asarray(maps)
    positive = maps.max(axis=(1, 2)) > 0
    hits = pointing_hits(maps, boxes, canvas_size)
    row, col = peak_cells(maps, canvas_size, cells)
    first, last = (row == 0) | (col == 0), (row == cells - 1) | (col == cells - 1)
    where = {EDGES[0]: first, EDGES[1]: last & ~first, EDGES[2]: ~first & ~last}
    return {edge: {"maxima": int(np.sum(chosen & positive)), "misses": int(np.sum(chosen & positive & ~hits))}
            for edge, chosen in where.items()}


def chance_rate(boxes, canvas_size):
    """The pointing game's score of a uniformly random point: the mean box area over the canvas area."""
    boxes = np.asarray(boxes)
    return float(np.mean(boxes[:, 2] * boxes[:, 3]) / canvas_size**2)


def pointing_game(model, canvases, labels, boxes, batch_size=50, other_layers=(), methods=tuple(METHODS)):
    """How well ``model``'s heat maps (each of ``methods``, at the default layer and at ``other_layers``: names
    or pyramid keys) and its attention layers' spatial gates point at the object, on the correctly classified
    canvases.

    Returns {"accuracy", "correct" (count), "chance", "cell" (the default layer's cell size in pixels), "cams":
    {method: {"default": hit rate, "near": hit rate within one cell of the box, "flat": maps with nothing
    positive (misses), "layers": {other layer: hit rate}}}, "gates": {layer: hit rate}, "gate_sizes": {layer:
    [H, W]}} for ``canvases`` (N, S, S, C), pixel values scaled as the model was trained, and their ``boxes``."""
    canvas_size = canvases.shape[1]
    cam_layer = choose_layer(model, None, canvases.shape[1:])
    others = {layer: choose_layer(model, layer, canvases.shape[1:]) for layer in other_layers}  # a bad name fails here
    cell = canvas_size / map_sizes(model, canvases.shape[1:], [cam_layer])[cam_layer.name][0]
    predicted = np.asarray(model.predict(canvases, batch_size=batch_size, verbose=0)).argmax(-1)
    right = np.flatnonzero(predicted == np.asarray(labels))
    hits, flat, sizes = {}, dict.fromkeys(methods, 0), {}
    for start in range(0, len(right), batch_size):
        chosen = right[start:start + batch_size]
        x, box = canvases[chosen], boxes[chosen]
        default = heat_maps(model, x, layer=cam_layer.name, methods=methods)
        for method, cams in default.items():
            hits.setdefault((method, "default"), []).append(pointing_hits(cams, box, canvas_size))
            hits.setdefault((method, "near"), []).append(pointing_hits(cams, box, canvas_size, margin=cell))
            flat[method] += int(np.sum(cams.max(axis=(1, 2)) == 0))
        for layer, target in others.items():  # the default layer among them: its maps again, not recomputed
            maps = default if target is cam_layer else heat_maps(model, x, layer=target.name, methods=methods)
            for method in methods:
                hits.setdefault((method, "at", layer), []).append(pointing_hits(maps[method], box, canvas_size))
        for layer, gates in attention_maps(model, x).items():
            if "spatial" in gates:
                sizes[layer] = list(gates["spatial"].shape[1:])
                hits.setdefault(("gates", layer), []).append(pointing_hits(gates["spatial"], box, canvas_size))
    cams = {method: {"default": hit_rate(hits.get((method, "default"))), "near": hit_rate(hits.get((method, "near"))),
                     "flat": flat[method],
                     "layers": {layer: hit_rate(hits.get((method, "at", layer))) for layer in others}}
            for method in methods}
    return {"accuracy": float(len(right) / len(canvases)), "correct": int(len(right)),
            "chance": chance_rate(boxes, canvas_size), "cell": cell, "cams": cams,
            "gates": {layer: hit_rate(hits[("gates", layer)]) for layer in sizes}, "gate_sizes": sizes}


def gates_by_size(result):
    """{(H, W): [hit rates of the layers whose spatial gates have that size]} (one entry per stage)."""
    grouped = {}
    for layer, rate in result["gates"].items():
        grouped.setdefault(tuple(result["gate_sizes"][layer]), []).append(rate)
    return grouped


def hit_rate(batches):
    return float(np.concatenate(batches).mean()) if batches else float("nan")
