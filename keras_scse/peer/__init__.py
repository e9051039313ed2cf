"""PyTorch twins of the package's models, for Keras-vs-PyTorch speed and equality checks (the `peer` extra).

Import the twin module itself (``from keras_scse.peer import torch_squeezenext``): it needs torch; importing
``keras_scse`` or this package never does.
"""
