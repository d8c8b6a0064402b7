"""Imports Keras once, without the C++ start-up chatter of its TensorFlow backend.

TensorFlow writes "could not find cuda drivers" and CPU-flag notices to the process's stderr while
it is imported, before its logging can be configured; in a notebook they would land in every
chapter. We silence file descriptor 2 for the duration of the import only. Import errors still
propagate.
"""

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_keras_quietly():
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow  # noqa: F401  (its lazy device set-up also prints)

            tensorflow.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return keras


keras = _import_keras_quietly()
# Every chapter builds many small models in a loop; TensorFlow's "retracing" advice is noise there.
logging.getLogger("tensorflow").setLevel(logging.ERROR)
