"""Explanations of keras_scse models: what each attention layer does to an image, where the class evidence
lies, and figures of both.

- ``attention_maps(model, images)``: {attention layer: {gate name: gates}}, from each layer's own ``gates``.
- ``grad_cam(model, images, class_index=None, layer=None)``: Grad-CAM heat maps (B, H, W) in [0, 1].
- ``plot_explanation(image, heat, top_k, attention, path)``: one figure (image, heat overlay, top-k classes,
  attention maps per stage); ``explain_images(model_or_preset, images, folder)`` makes one per image, and
  ``plot_grid`` one for many images.
"""

from keras_scse.explain.attention import attention_layers, attention_maps
from keras_scse.explain.figures import explain_images, plot_explanation, plot_grid, stage_maps
from keras_scse.explain.gradcam import feature_maps, grad_cam
from keras_scse.explain.inputs import model_images

__all__ = ["attention_layers", "attention_maps", "explain_images", "feature_maps", "grad_cam", "model_images",
           "plot_explanation", "plot_grid", "stage_maps"]
