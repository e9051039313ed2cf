"""Explanations of keras_scse models: what each attention layer does to an image, where the class evidence
lies, and figures of both.

- ``attention_maps(model, images)``: {attention layer: {gate name: gates}}, from each layer's own ``gates``.
- ``grad_cam(model, images, class_index=None, layer=None, method="grad_cam")``: Grad-CAM (or Grad-CAM++) heat
  maps (B, H, W) in [0, 1].
- ``plot_explanation(image, heat, top_k, attention, path)``: one figure (image, heat overlay, top-k classes,
  attention maps per stage); ``explain_images(model_or_preset, images, folder)`` makes one per image, and
  ``plot_grid`` one for many images.
- ``sanity_check(model, images)``: Adebayo et al.'s test, how much the maps change when the top layers
  (``top_layers``) are re-initialised.
- ``pointing_game(model, canvases, labels, boxes)``: how often the heat maps' and the spatial gates' maxima fall on
  the object (``paste_on_canvas`` makes such canvases; ``pointing_hits``, ``peak_points``, ``peak_cells``,
  ``maxima_by_edge``, ``chance_rate``, ``gates_by_size``).
"""

from keras_scse.explain.attention import attention_layers, attention_maps
from keras_scse.explain.figures import explain_images, plot_explanation, plot_grid, stage_maps
from keras_scse.explain.gradcam import feature_maps, grad_cam
from keras_scse.explain.inputs import model_images
from keras_scse.explain.localisation import (
    chance_rate,
    gates_by_size,
    maxima_by_edge,
    paste_on_canvas,
    peak_cells,
    peak_points,
    pointing_game,
    pointing_hits,
)
from keras_scse.explain.sanity import sanity_check, top_layers

__all__ = ["attention_layers", "attention_maps", "chance_rate", "explain_images", "feature_maps", "gates_by_size",
           "grad_cam", "maxima_by_edge", "model_images", "paste_on_canvas", "peak_cells", "peak_points",
           "plot_explanation", "plot_grid", "pointing_game", "pointing_hits", "sanity_check", "stage_maps",
           "top_layers"]
