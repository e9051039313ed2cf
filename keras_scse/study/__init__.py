"""Studies: declared experiments (variants x seeds x one training recipe), run one training at a time,
resumable, each finished run appended to a results CSV kept in the repository."""

from keras_scse.study.report import report
from keras_scse.study.runner import run, runs_root, status
from keras_scse.study.spec import Study, load

__all__ = ["Study", "load", "report", "run", "runs_root", "status"]
