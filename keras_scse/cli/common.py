"""What the commands share: argument types that check at the edge and say how to fix a bad value, the
parser (one-line errors, defaults in the help, taken from the library), the option groups, error reporting."""

import argparse
import dataclasses
import difflib
import inspect
import json
import math
import os
import re
import sys
import zipfile

# ---------------------------------------------------------------- argument types: check at the edge, say how to fix

def integer(text, low, what):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise argparse.ArgumentTypeError(f"got {text!r}; give {what}")
    return value


def positive_int(text):
    return integer(text, 1, "a positive integer (1, 2, ...)")


def non_negative_int(text):
    return integer(text, 0, "an integer >= 0")


def real(text, ok, what):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"got {text!r}; give {what}")
    return value


def positive_float(text):
    return real(text, lambda v: v > 0, "a number > 0, e.g. 0.1 or 1e-3")


def non_negative_float(text):
    return real(text, lambda v: v >= 0, "a number >= 0, e.g. 0 or 5e-4")


def fraction(text):
    return real(text, lambda v: 0 < v < 1, "a fraction between 0 and 1 (exclusive), e.g. 0.1")


def smoothing(text):
    return real(text, lambda v: 0 <= v < 1, "a number in [0, 1), e.g. 0.1")


def json_object(text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid JSON ({error}); give an object such as "
                                         "'{\"attention\": \"sca\"}' (keys and strings in double quotes)") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"got {text!r}; give a JSON object such as '{{\"attention\": \"sca\"}}'")
    return value


def size_or_any(text):
    return "any" if text.lower() == "any" else integer(text, 1, "a positive integer (SIZE x SIZE) or 'any'")


def verbosity(text):
    if text in ("auto", "0", "1", "2"):
        return text if text == "auto" else int(text)
    raise argparse.ArgumentTypeError(f"got {text!r}; give auto, 0, 1 or 2")


def keras_file(path):
    """A path to an existing .keras model file (a zip archive, as ``model.save`` writes)."""
    if not os.path.exists(path):
        raise argparse.ArgumentTypeError(f"{path!r} does not exist; give a .keras file, e.g. runs/<run>/best.keras")
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{path!r} is a folder; give a .keras file, e.g. runs/<run>/best.keras")
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        raise argparse.ArgumentTypeError(f"{path!r} is not a Keras model file (.keras files are zip archives "
                                         "written by model.save); give a saved model, e.g. runs/<run>/best.keras")
    return path


def jit_value(text):
    values = {"auto": "auto", "true": True, "on": True, "false": False, "off": False}
    if text.lower() not in values:
        raise argparse.ArgumentTypeError(f"got {text!r}; give auto, true or false")
    return values[text.lower()]


def on_off(text):
    if text.lower() not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"expected 'on' or 'off', got {text!r}")
    return text.lower() == "on"


def model_name(text):
    """A registered model's name (any case), checked when the command line is read, before any data is."""
    from keras_scse.applications import list_models

    names = {name.lower(): name for name in list_models()}
    if text.lower() not in names:
        close = difflib.get_close_matches(text.lower(), names, n=3)
        hint = f"did you mean {[names[c] for c in close]}? " if close else ""
        raise argparse.ArgumentTypeError(f"unknown model {text!r}; {hint}`keras-scse models` lists them")
    return names[text.lower()]


def weights_choice(text):
    return None if text.lower() == "none" else text


def augment_choice(text):
    if text not in ("flip_crop", "crop", "none"):
        raise argparse.ArgumentTypeError(f"got {text!r}; give flip_crop, crop or none")
    return None if text == "none" else text



# ---------------------------------------------------------------- the parser and the library's defaults

class DefaultsFormatter(argparse.HelpFormatter):
    """Each option's help ends with its default, unless the help names one already, or it is a flag or None."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``keras-scse: error: ...``, with exit status 2, and whose
    help shows each option's default (the library's, see ``library_defaults``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        command = self.prog.split(" ", 1)[1:]  # "keras-scse train" -> ["train"]
        help_hint = f"keras-scse {command[0]} --help" if command else "keras-scse --help"
        self.exit(2, f"keras-scse: error: {message} (see {help_hint})\n")


def library_defaults(target, everything=False):
    """{parameter: default} of a library function, or {field: default} of a config dataclass: the CLI takes
    its defaults from there, so each is declared once. ``everything``: every name, with or without a default."""
    if dataclasses.is_dataclass(target):
        instance = target()
        return {field.name: getattr(instance, field.name) for field in dataclasses.fields(target)}
    parameters = inspect.signature(target).parameters.values()
    return {p.name: p.default for p in parameters
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and (everything or p.default is not p.empty)}


def library_arguments(args, target):
    """The parsed values that ``target`` (a library function or config dataclass) takes, by name."""
    return {name: getattr(args, name) for name in library_defaults(target, everything=True) if hasattr(args, name)}



# ---------------------------------------------------------------- option groups of several commands

def command_parser(sub, module_doc):
    """A command's parser, named and described by its module's docstring: "``keras-scse NAME``: the help
    line." and then the description paragraph."""
    first, _, description = module_doc.strip().partition("\n\n")
    name, help_line = re.fullmatch(r"``keras-scse (\w+)``: (.+?)\.?", first.strip()).groups()
    return sub.add_parser(name, help=help_line, description=" ".join(description.split()))


def add_data_options(parser, data_dir=True):
    """What train, finetune and tune share: batch, the data's size, channels, subset, seed; Keras' verbosity."""
    parser.add_argument("--batch-size", type=positive_int, help="global batch size, split over replicas")
    parser.add_argument("--image-size", type=positive_int, help="resize images to SIZE x SIZE (default: as stored)")
    parser.add_argument("--channels", type=positive_int, choices=(1, 3), help="convert images to 1 or 3 channels")
    parser.add_argument("--limit", type=positive_int, help="use only the first N training images")
    parser.add_argument("--seed", type=non_negative_int, help="seed of the splits, shuffling and initialisation")
    if data_dir:
        parser.add_argument("--data-dir", help="TFDS data folder")
    parser.add_argument("--verbose", type=verbosity, help="Keras fit verbosity: auto, 0, 1, 2")


def add_skip_unreadable(parser):
    parser.add_argument("--skip-unreadable", action="store_true",
                        help="image folders: leave out files that cannot be decoded (default: stop and list them)")


def add_model_and_dataset(parser, dataset_required=False):
    parser.add_argument("--model", type=model_name, help="registered model name (see `keras-scse models`)")
    parser.add_argument("--dataset", required=dataset_required,
                        help="'fashion_mnist' (local Debian files), a TFDS name (malaria, cifar10, ...) or an "
                             "image folder with one sub-folder per class")


def add_run_folder_options(parser, default_folder):
    """A run folder resumes when the same command runs again; --fresh deletes it first."""
    parser.add_argument("--run-dir", help=f"output folder (default {default_folder})")
    parser.add_argument("--fresh", action="store_true", help="delete the run folder and start over")


def add_device_options(parser):
    parser.add_argument("--jit-compile", type=jit_value, help="auto (default), true or false (XLA)")
    parser.add_argument("--cpu-devices", type=positive_int,
                        help="split the CPU into N logical devices and train with MirroredStrategy over them")


def add_model_kwargs(parser):
    parser.add_argument("--model-kwargs", type=json_object,
                        help='JSON of constructor options, e.g. \'{"attention": "sca"}\'')



# ---------------------------------------------------------------- errors

def one_line(text, limit=1000):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."



def failure(error):
    """Print ``error`` as one line and return the exit status: 130 interrupted, 2 the input was wrong
    (ValueError, OSError: bad data, files), 1 another error."""
    if isinstance(error, KeyboardInterrupt):
        print("keras-scse: interrupted", file=sys.stderr)
        return 130
    if isinstance(error, (ValueError, OSError)):
        print(f"keras-scse: error: {one_line(error)}", file=sys.stderr)
        return 2
    print(f"keras-scse: error: {type(error).__name__}: {one_line(error)} (--debug shows the traceback)",
          file=sys.stderr)
    return 1
