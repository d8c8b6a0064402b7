"""ksc: the shared code of the K-Sparse Chaotic Autoencoders reproduction book."""
__version__ = "0.1.0"
