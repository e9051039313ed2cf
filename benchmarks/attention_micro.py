"""CPU cost of one attention layer, forward + backward, at SCSENet44's four stage shapes (batch 128).

    PYTHONPATH=. .venv/bin/python benchmarks/attention_micro.py

Each layer runs in a tf.function (forward, a loss, gradients for the input and the weights) on one thread;
the cost is the process CPU time per call (best of 7 blocks of 50 calls), which another process on the
machine disturbs much less than wall time. "definition" rows compute a layer with its Keras conv sublayers,
as its docstring writes it (the formulation before the speed work); the package's layers compute the same
function (tests/test_layers.py) with cheaper ops. "x * 2" is the floor: one element-wise op.
Writes benchmarks/results/speed/attention_micro.md.
"""

import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SHAPES = [(128, 8, 8, 24), (128, 4, 4, 48), (128, 2, 2, 96), (128, 1, 1, 192)]  # SCSENet44 at 32x32 input
UNITS = (14, 14, 12, 2)  # attention layers per stage in SCSENet44


def layers():
    import keras
    from keras import ops

    from keras_scse import layers as L
    from keras_scse.layers import base

    class SCSEDefinition(L.SeparableSqueezeExcite):  # conv/add, as the layer computed it before the speed work
        def __init__(self):
            super().__init__(spatial="conv", fusion="add")

        def attend(self, x, training=None):
            pooled = ops.expand_dims(ops.mean(x, axis=(1, 2)), -1)
            g_c = ops.sigmoid(ops.reshape(self.channel_conv(pooled), (-1, 1, 1, self.channels)))
            g_s = ops.sigmoid(self.conv_w(self.conv_h(self.squeeze_conv(x))))
            return x * g_c + x * g_s

    class ECADefinition(L.EfficientChannelAttention):
        def attend(self, x, training=None):
            pooled = ops.expand_dims(ops.mean(x, axis=(1, 2)), -1)
            return x * ops.sigmoid(ops.reshape(self.conv(pooled), (-1, 1, 1, self.channels)))

    class SCADefinition(L.SpatialChannelAttention):
        def _gate(self, branch, z, training):
            conv, bn = branch
            g = conv(z)
            return ops.sigmoid(bn(g, training=training) if bn is not None else g)

    class CBAMDefinition(L.CBAM):
        def attend(self, x, training=None):
            logits = sum(self.channel_logits(pool(x, axis=(1, 2))) for pool in (ops.mean, ops.max))
            x = x * ops.sigmoid(logits)
            return x * ops.sigmoid(self.spatial_conv(base.mean_max(x, axis=-1)))

    class Floor(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    return [
        ("x * 2 (floor)", Floor),
        ("se", L.SqueezeExcite),
        ("eca (definition: Keras Conv1D)", ECADefinition),
        ("eca", L.EfficientChannelAttention),
        ("scse (Roy)", L.ConcurrentSE),
        ("cbam (definition: Keras Conv2D)", CBAMDefinition),
        ("cbam", L.CBAM),
        ("sc-se conv/add (definition: Keras convs, x*g_c + x*g_s)", SCSEDefinition),
        ("sc-se conv/add", lambda: L.SeparableSqueezeExcite(spatial="conv", fusion="add")),
        ("sc-se axial/mul (default)", L.SeparableSqueezeExcite),
        ("sca k=7 (definition: Keras Conv2D)", SCADefinition),
        ("sca (k=7, mul)", L.SpatialChannelAttention),
        ("sca (k=3, mul)", lambda: L.SpatialChannelAttention(kernel_size=3)),
    ]


def cpu_us(make, shape):
    import tensorflow as tf

    layer = make()
    x = tf.constant(np.random.default_rng(0).standard_normal(shape, dtype=np.float32))
    layer.build(shape)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(layer(x)))
        return tape.gradient(loss, [x] + layer.trainable_weights)

    step(x)
    best = float("inf")
    for _ in range(7):
        start = time.process_time()
        for _ in range(50):
            step(x)
        best = min(best, (time.process_time() - start) / 50)
    return best * 1e6


def main():
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    lines = ["Forward + backward CPU time per call, one thread, batch 128 (µs), at SCSENet44's stage shapes; "
             "the last column weights each stage by its number of attention layers (= the attention's cost "
             "in one SCSENet44 training step).", "",
             "| layer | " + " | ".join(f"{h}x{w}x{c}" for _, h, w, c in SHAPES) + " | per SCSENet44 step (ms) |",
             "| --- |" + " --- |" * (len(SHAPES) + 1)]
    for name, make in layers():
        costs = [cpu_us(make, shape) for shape in SHAPES]
        per_step = sum(n * c for n, c in zip(UNITS, costs)) / 1000
        lines.append(f"| {name} | " + " | ".join(f"{c:,.0f}" for c in costs) + f" | {per_step:.1f} |")
        print(lines[-1], flush=True)
    out = os.path.join(ROOT, "benchmarks", "results", "speed")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "attention_micro.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
