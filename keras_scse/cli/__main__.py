"""``python -m keras_scse.cli``: the same as the ``keras-scse`` console script."""

import sys

from keras_scse.cli import main

sys.exit(main())
