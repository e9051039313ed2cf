"""What one SCA layer (k=7) costs on ResNet-50's maps under TensorFlow on this CPU, computed several ways, next to
a BatchNorm layer on the same map (the yardstick: a bottleneck block has three).

Usage: python benchmarks/sca_layer_cost.py   (writes benchmarks/results/speed/sca_layer_cost.md)
Forward + backward (input and weight gradients) of a loss on the layer's output, median ms of 5 timed runs after
2 untimed, batch 16, one stage-output map per ResNet-50 stage (56x56x256 ... 7x7x2048). Ways:
- batch_as_channels / plain: ``conv_formulation`` of the one-output k x k convs (TensorFlow's "auto" is the first);
- pool ops: the mean / max over one spatial axis as average / max pooling ops (one-pass gradient kernels);
- XLA attend: the layer's attend() in a tf.function(jit_compile=True) inside the non-XLA step.
All compute the same function (max |diff| printed). Two more rows take the convs out, to show what the rest costs
(gates = sigmoid of the pooled maps' mean: the four axis pools, their gradients and the gating stay): as Keras
ops, and as one XLA-compiled attend() (pools, gating and their gradients fused: the floor for this design here).
"""

import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "benchmarks", "results", "speed", "sca_layer_cost.md")
STAGES = ((56, 256), (28, 512), (14, 1024), (7, 2048))
BATCH = 16


def main():
    import keras
    import tensorflow as tf
    from keras import ops

    from keras_scse.layers import SpatialChannelAttention
    from keras_scse.layers.base import conv_formulation

    class PoolOpsSCA(SpatialChannelAttention):
        def _pool(self, x, axis):
            size = (1, x.shape[2]) if axis == 2 else (x.shape[1], 1)
            maps = [ops.average_pool(x, size, strides=size, padding="valid")]
            if self.pool == "avgmax":
                maps.append(ops.max_pool(x, size, strides=size, padding="valid"))
            return ops.stack([ops.squeeze(m, axis) for m in maps], axis=-1)

    class XlaAttendSCA(SpatialChannelAttention):
        def attend(self, x, training=None):
            if not hasattr(self, "compiled"):
                self.compiled = tf.function(lambda v: SpatialChannelAttention.attend(self, v, training),
                                            jit_compile=True)
            return self.compiled(x)

    class NoConvSCA(SpatialChannelAttention):
        def _gate(self, branch, z, training):
            return ops.sigmoid(ops.mean(z, axis=-1, keepdims=True))

    class XlaNoConvSCA(XlaAttendSCA, NoConvSCA):
        pass

    ways = [("BatchNormalization (yardstick)", lambda: keras.layers.BatchNormalization(), "auto"),
            ("SCA batch_as_channels (TF auto)", lambda: SpatialChannelAttention(kernel_size=7), "batch_as_channels"),
            ("SCA plain", lambda: SpatialChannelAttention(kernel_size=7), "plain"),
            ("SCA pool ops, batch_as_channels", lambda: PoolOpsSCA(kernel_size=7), "batch_as_channels"),
            ("SCA pool ops, plain", lambda: PoolOpsSCA(kernel_size=7), "plain"),
            ("SCA XLA attend, plain", lambda: XlaAttendSCA(kernel_size=7), "plain"),
            ("SCA without convs (pools + gating)", lambda: NoConvSCA(kernel_size=7), "auto"),
            ("SCA without convs, XLA attend", lambda: XlaNoConvSCA(kernel_size=7), "auto")]
    rows = {name: [] for name, _, _ in ways}
    diffs = []
    for size, channels in STAGES:
        rng = np.random.default_rng(0)
        x = tf.constant(rng.normal(size=(BATCH, size, size, channels)).astype("float32"))
        weight = tf.constant(rng.normal(size=x.shape).astype("float32"))
        reference = None
        for name, make, how in ways:
            with conv_formulation(how):
                layer = make()
                layer(x)
                if isinstance(layer, SpatialChannelAttention) and not isinstance(layer, NoConvSCA):
                    if reference is None:
                        reference = layer
                    else:
                        layer.set_weights(reference.get_weights())
                        diffs.append(float(tf.reduce_max(tf.abs(layer(x) - reference(x)))))

                @tf.function
                def step():
                    with tf.GradientTape() as tape:
                        tape.watch(x)
                        loss = tf.reduce_sum(layer(x, training=True) * weight)
                    return tape.gradient(loss, [x] + layer.trainable_weights)

                for _ in range(2):
                    step()[0].numpy()
                times = []
                for _ in range(5):
                    start = time.perf_counter()
                    step()[0].numpy()
                    times.append(time.perf_counter() - start)
            rows[name].append(1000 * float(np.median(times)))
            print(name, size, channels, round(rows[name][-1], 1), flush=True)
    header = "| way | " + " | ".join(f"{s}x{s}x{c}" for s, c in STAGES) + " | ResNet-50 total* |"
    lines = [header, "|---|" + "---:|" * (len(STAGES) + 1)]
    blocks = (3, 4, 6, 3)  # ResNet-50's blocks per stage
    for name, values in rows.items():
        total = sum(v * b for v, b in zip(values, blocks))
        lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in values) + f" | {total:.0f} |")
    text = (f"Command: `python benchmarks/sca_layer_cost.py` (TensorFlow {tf.__version__}, {os.cpu_count()}-core "
            f"CPU, no XLA unless named). Forward + backward ms of one layer, batch {BATCH}; *total = sum over "
            "ResNet-50's 16 blocks (one layer per block). Max |diff| of the SCA ways vs the first: "
            f"{max(diffs):.1e}.\n\n" + "\n".join(lines) + "\n")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
