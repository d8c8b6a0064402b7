"""ksc: the shared code of the K-Sparse Chaotic Autoencoders reproduction book."""
import os

# TensorFlow's C++ start-up chatter (no CUDA driver, CPU flags) would otherwise fill every notebook.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
