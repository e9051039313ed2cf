"""Run keras_scse.training.train in its own process, for tests that need one (logical CPU devices,
MultiWorker via TF_CONFIG, a run to kill).

    python tests/scripts/train_run.py SPEC.json

SPEC: {"data": "arrays.npz" (x, y), "config": {TrainConfig fields except dataset}, "fresh": false,
       "epoch_sleep": 0.0 (seconds to wait after each epoch: a window to kill the run in)}
Prints one line "METRICS <json>" at the end.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    import keras
    import numpy as np

    keras.config.disable_traceback_filtering()  # full tracebacks in the test logs

    from keras_scse import training

    arrays = np.load(spec["data"])
    config = training.TrainConfig(dataset=(arrays["x"], arrays["y"]), **spec["config"])

    class Sleep(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(spec.get("epoch_sleep", 0.0))

    metrics = training.train(config, fresh=spec.get("fresh", False), verbose=0, callbacks=[Sleep()])
    print("METRICS " + json.dumps(metrics), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
