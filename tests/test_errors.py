"""Bad input gets one clear line, never a traceback: the CLI's exit status and stderr for each bad command, and the
library functions' ValueErrors for epochs that make no sense."""

import os

import numpy as np
import pytest
import tensorflow as tf

from keras_scse import cli, training
from keras_scse.training.finetune import finetune


def run_cli(argv, capsys):
    """(exit status, stderr lines) of cli.main(argv) run in this process."""
    try:
        code = cli.main(argv)
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().err.splitlines()


def assert_one_error_line(code, lines, *fragments):
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("keras-scse: error: "), lines
    assert "Traceback" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def text_keras_file(tmp_path):
    path = tmp_path / "x.keras"
    path.write_text("this is not a model")
    return str(path)


ISSUE_CASES = {
    "epochs -1": (["train", "--epochs", "-1"], ["--epochs", "'-1'", "positive integer"]),
    "epochs 0": (["train", "--epochs", "0"], ["--epochs", "'0'", "positive integer"]),
    "batch-size 0": (["train", "--batch-size", "0"], ["--batch-size", "'0'"]),
    "batch-size -4": (["train", "--batch-size", "-4"], ["--batch-size", "'-4'"]),
    "image-size 0": (["train", "--image-size", "0"], ["--image-size", "'0'"]),
    "image-size -5": (["train", "--image-size", "-5"], ["--image-size", "'-5'"]),
    "model-kwargs {bad": (["train", "--model-kwargs", "{bad"], ["--model-kwargs", "'{bad' is not valid JSON"]),
    "finetune 0 + 0 epochs": (["finetune", "--dataset", "some_folder", "--head-epochs", "0", "--full-epochs", "0"],
                              ["--head-epochs 0 and --full-epochs 0", "at least one epoch"]),
    "epochs text": (["train", "--epochs", "ten"], ["'ten'"]),
    "lr nan": (["train", "--lr", "nan"], ["--lr", "'nan'"]),
    "val-fraction 1": (["train", "--val-fraction", "1"], ["--val-fraction", "between 0 and 1"]),
    "verbose": (["train", "--verbose", "loud"], ["--verbose", "auto, 0, 1 or 2"]),
    "jit-compile": (["train", "--jit-compile", "maybe"], ["--jit-compile", "'maybe'"]),
    "fixed not an object": (["tune", "--fixed", "[1, 2]"], ["--fixed", "JSON object"]),
    "fresh and resume": (["train", "--fresh", "--resume"], ["--fresh", "--resume"]),
    "unknown option": (["train", "--epoch-count", "3"], ["unrecognized arguments: --epoch-count"]),
    "no command": ([], ["required: command"]),
    "export channels without size": (["export", "--model", "SCSENet44", "--channels", "1"], ["--input-size"]),
    "export missing file": (["export", "--model-path", "no/such.keras"], ["'no/such.keras' does not exist"]),
    "export into a file": (["export", "--model", "SCSENet44", "--output", "README.md/x.onnx"],
                           ["cannot write the export to README.md/x.onnx", "is a file, not a folder", "--output"]),
    "export unwritable": (["export", "--model", "SCSENet44", "--output", "/proc/x.onnx"],
                          ["cannot write the export to /proc/x.onnx", "/proc is not writable"]),
    "int8 weights without int8": (["export", "--model", "SCSENet44", "--format", "litert", "--int8-weights",
                                   "per-tensor"], ["--int8-weights per-tensor is for --format litert with --quantize"]),
    "names kept in onnx": (["export", "--model", "SCSENet44", "--keep-names"], ["--keep-names is for --format litert"]),
}


@pytest.mark.parametrize("argv, fragments", ISSUE_CASES.values(), ids=ISSUE_CASES.keys())
def test_bad_arguments_exit_2_with_one_line(argv, fragments, capsys):
    code, lines = run_cli(argv, capsys)
    assert_one_error_line(code, lines, *fragments)
    assert "--help" in lines[0]  # and where to read what is allowed


def test_export_of_a_text_file_named_keras_says_it_is_not_a_model(text_keras_file, capsys):
    code, lines = run_cli(["export", "--model-path", text_keras_file], capsys)
    assert_one_error_line(code, lines, text_keras_file, "is not a Keras model file")
    assert "not found" not in lines[0].lower()


def test_errors_raised_by_a_command_are_one_line_and_debug_shows_the_traceback(capsys):
    code, lines = run_cli(["export", "--model", "NoSuchNet"], capsys)  # export's library call finds it
    assert_one_error_line(code, lines, "Unknown model 'NoSuchNet'")
    for argv in (["--debug", "export", "--model", "NoSuchNet"], ["export", "--model", "NoSuchNet", "--debug"]):
        with pytest.raises(ValueError, match="Unknown model 'NoSuchNet'"):
            cli.main(argv)


def test_unexpected_errors_exit_1_with_one_line_naming_the_error(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(cli.info, "cmd_info", broken)  # the command module of `info`
    code, lines = run_cli(["info"], capsys)
    assert code == 1 and lines == ["keras-scse: error: RuntimeError: disk on fire second line (--debug shows the "
                                   "traceback)"]
    with pytest.raises(RuntimeError):
        cli.main(["info", "--debug"])


def test_train_on_a_folder_with_unreadable_files_stops_before_training_with_the_list(tmp_path, capsys):
    for i in range(6):
        path = str(tmp_path / "data" / "ab"[i % 2] / f"{i}.png")
        tf.io.write_file(path, tf.io.encode_png(np.zeros((4, 4, 3), np.uint8)))
    (tmp_path / "data" / "a" / "bad.png").write_text("not a png")
    code, lines = run_cli(["train", "--dataset", str(tmp_path / "data"), "--run-dir", str(tmp_path / "run")], capsys)
    assert code == 2 and "Traceback" not in "\n".join(lines)
    error = [line for line in lines if line.startswith("keras-scse: error:")]
    assert len(error) == 1 and "1 of 7 image files" in error[0] and "bad.png" in error[0]
    assert "--skip-unreadable" in error[0]
    assert not (tmp_path / "run" / "history.csv").exists()


def test_cli_wires_skip_unreadable_and_parsed_json(monkeypatch):
    seen = {}
    monkeypatch.setattr(training, "train", lambda config, **kwargs: seen.update(config=config))
    assert cli.main(["train", "--skip-unreadable", "--model-kwargs", '{"attention": "sca"}', "--epochs", "2"]) == 0
    assert seen["config"].skip_unreadable is True and seen["config"].model_kwargs == {"attention": "sca"}
    assert cli.main(["train"]) == 0
    assert seen["config"].skip_unreadable is False and seen["config"].model_kwargs == {}


# ---------------------------------------------------------------- the library rejects epochs that make no sense

@pytest.mark.parametrize("head, full, match", [
    (0, 0, "head_epochs=0 and full_epochs=0 leave nothing to train"),
    (-1, 3, "`head_epochs` must be an integer >= 0; received head_epochs=-1"),
    (2, 1.5, "`full_epochs` must be an integer >= 0; received full_epochs=1.5"),
])
def test_finetune_rejects_epochs_before_doing_anything(tmp_path, head, full, match):
    with pytest.raises(ValueError, match=match):
        finetune("SCSENet44", "no_such_dataset", str(tmp_path / "run"), head_epochs=head, full_epochs=full)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("field, value", [("epochs", 0), ("epochs", -1), ("epochs", 2.0), ("batch_size", 0)])
def test_train_rejects_epochs_and_batch_sizes_below_one(tmp_path, field, value):
    config = training.TrainConfig(run_dir=str(tmp_path / "run"), **{field: value})
    with pytest.raises(ValueError, match=f"`{field}` must be a positive integer; received {field}={value!r}"):
        training.train(config)
    assert not (tmp_path / "run").exists()


def test_train_on_a_folder_mixing_grey_rgb_and_rgba_works(tmp_path, capsys):
    """It used to fail in Functional.call() when a split held only grey images (that split came out 1-channel);
    the seed is chosen so that the test split is all grey."""
    from keras_scse import data

    for c, name in enumerate(["dark", "light"]):
        for i in range(6):
            channels = (3 if c else 4) if i == 0 else 1  # one RGB, one RGBA, ten grey
            path = str(tmp_path / "data" / name / f"{i}.png")
            tf.io.write_file(path, tf.io.encode_png(np.full((8, 8, channels), 40 + 150 * c, np.uint8)))
    files, _, _ = data.folder_files(str(tmp_path / "data"))
    seed = next(s for s in range(100) if all(not f.endswith("/0.png") for f in files[data.carve(
        len(files), "test", 0.2, 0.1, s, has_test=False)]))
    code = cli.main(["train", "--model", "SqueezeNext44", "--model-kwargs", '{"blocks": [1, 1, 1, 1], "width": 0.25}',
                     "--dataset", str(tmp_path / "data"), "--image-size", "32", "--epochs", "1", "--batch-size", "4",
                     "--val-fraction", "0.2", "--seed", str(seed), "--no-augment", "--jit-compile", "false",
                     "--run-dir", str(tmp_path / "run"), "--verbose", "0"])
    assert code == 0, capsys.readouterr().err[-2000:]
    assert "(32, 32, 3)" in capsys.readouterr().out and (tmp_path / "run" / "metrics.json").exists()


NATIVE_LOG = ("WARNING: All log messages", "I0000", "E0000", "W0000")


def run_command(*argv):
    import subprocess
    import sys

    command = os.path.join(os.path.dirname(sys.executable), "keras-scse")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([command, *argv], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("argv", [["--help"], ["info"], ["models", "SCSE*", "--costs"]])
def test_commands_print_no_native_backend_log(argv):
    done = run_command(*argv)
    assert done.returncode == 0, done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    assert lines and not [line for line in lines if line.startswith(NATIVE_LOG)]


def test_debug_brings_the_native_log_back():
    assert any(line.startswith(NATIVE_LOG) for line in run_command("--debug", "info").stderr.splitlines())
