"""The attention layers' one-output convs computed four ways (``keras_scse.layers.base.conv_formulation``),
timed inside whole training / inference steps of SqueezeNext44 (32x32x3, batch 128) on this CPU, per backend.

    PYTHONPATH=. python benchmarks/formulations.py --sweeps formulations      # every layer (hours)
    PYTHONPATH=. python benchmarks/formulations.py --sweeps formulations_1d   # SE, ECA, SC-SE, scSE only

TensorFlow without XLA (its CPU policy), JAX with XLA; each backend in its own process. Rows: the floor (no
attention), SE (no one-output conv), ECA, SC-SE (SCSENet44's axial/mul and its conv spatial branch), SCA (k=7)
and CBAM in each formulation; scSE (its only one-output conv is 1x1: a matmul in every formulation but
"plain") as "plain" and "shifted"; SC-SE's other fusions with each backend's "auto". Round-robin keeps every
model of a backend in memory (about 1 GB each under TensorFlow): measure the layers in groups with --only.
"""

import os

from keras_scse.bench import Sweep, entry, grid

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "speed")
EVERY_WAY = ("batch_as_channels", "shifted", "banded", "plain")
ONE_D = [("eca", {}), ("separable_se", {}), ("separable_se", {"spatial": "conv"})]  # layers with 1D / 1x1 convs only


def rows(attentions, backends=(("tensorflow", False), ("jax", True))):
    """Each backend's rows, the backend outermost (one process each)."""
    table = []
    for keras_backend, xla in backends:
        common = dict(models=["SqueezeNext44"], keras_backends=[keras_backend], xla=xla, batch_size=128)
        table += grid(attentions=[None, "se"], **common)
        table += grid(attentions=attentions, formulations=EVERY_WAY, **common)
        table += grid(attentions=[("separable_se", {"spatial": s, "fusion": f}) for s in ("axial", "conv")
                                  for f in ("add", "max")], **common)
        table += grid(attentions=[("concurrent_se", {})], formulations=["plain", "shifted"], **common)
    return table


SWEEPS = {"formulations": Sweep("formulations", rows(ONE_D + [("sca", {}), ("cbam", {})])),
          "formulations_1d": Sweep("formulations_1d", rows(ONE_D))}

if __name__ == "__main__":
    entry.main(SWEEPS, OUT)
