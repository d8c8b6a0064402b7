"""The forward pass of a Llama-architecture decoder in Keras 3 (``keras.ops`` only), from NumPy weights.

Written here rather than taken from keras-hub, whose Llama needs ``tensorflow-text`` pinned to one TensorFlow
version, ``kagglehub`` and ``sentencepiece``. Runs under the TensorFlow and the JAX backends; float32 throughout.

The architecture (``gguf_weights.LlamaConfig``): token embedding; ``n_layers`` pre-norm blocks, each
``x += attention(rms_norm(x))`` then ``x += mlp(rms_norm(x))``; a final RMSNorm and the output head (the transposed
embedding when tied). Attention is causal, grouped-query (query head h reads key/value head h // (n_heads //
n_kv_heads)), scaled by 1/sqrt(head_dim), with rotary position embedding at positions 0..T-1 applied to queries and
keys (frequencies theta^(-2i/head_dim); pairs of coordinates as ``config.rope_pairing`` says). The MLP is SwiGLU:
``(silu(x @ gate) * (x @ up)) @ down``. RMSNorm: ``x / sqrt(mean(x^2) + eps) * gain``.

The residual stream "after block b" (0-based) is x once block b has added both its attention and MLP outputs;
``after_block = -1`` names the embeddings, before block 0. Work is done ``batch_size`` sequences at a time to bound
memory (the logits of 8 sequences of 128 tokens over SmolLM2's 49,152-token vocabulary take 200 MB), each chunk in
one compiled call (``tf.function`` or ``jax.jit``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ksc.data.language.gguf_weights import LlamaConfig
from ksc.runtime.backend import keras

ops = keras.ops


def _compile(function, static: tuple[str, ...]):
    """``function`` compiled for the current backend; the ``static`` arguments are Python values (one trace each)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(function, static_argnames=static)
    return function


def rope_tables(config: LlamaConfig, length: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the rotary angles at positions 0..length-1, each (length, 1, head_dim // 2) float32."""
    half = config.head_dim // 2
    frequencies = config.rope_theta ** (-np.arange(half, dtype=np.float64) * 2.0 / config.head_dim)
    angles = np.arange(length, dtype=np.float64)[:, None] * frequencies[None, :]
    return np.cos(angles)[:, None, :].astype(np.float32), np.sin(angles)[:, None, :].astype(np.float32)


def causal_bias(length: int) -> np.ndarray:
    """(length, length) additive attention bias: 0 where key position <= query position, -1e9 elsewhere."""
    return np.triu(np.full((length, length), -1e9, dtype=np.float32), k=1)


class Llama:
    """A Llama-architecture decoder with fixed weights: residual stream, logits, next-token loss, greedy decoding."""

    def __init__(self, config: LlamaConfig, weights: dict[str, np.ndarray], batch_size: int = 8):
        self.config = config
        self.batch_size = int(batch_size)
        tensors = {name: ops.convert_to_tensor(np.asarray(value, np.float32)) for name, value in weights.items()}
        if "head" not in tensors:
            tensors["head"] = ops.convert_to_tensor(np.ascontiguousarray(np.asarray(weights["embed"], np.float32).T))
        self.weights = tensors
        self._residual = _compile(self._residual_fn, ("after_block",))
        self._logits = _compile(self._logits_fn, ("after_block",))
        self._loss = _compile(self._loss_fn, ("after_block",))

    # ----- the layers -----

    def _norm(self, x, gain):
        return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.config.norm_eps) * gain

    def _rotate(self, x, cos, sin):
        """RoPE on x (B, T, heads, head_dim); cos and sin (T, 1, head_dim // 2)."""
        shape = ops.shape(x)
        half = self.config.head_dim // 2
        if self.config.rope_pairing == "adjacent":
            pairs = ops.reshape(x, (-1, shape[1], shape[2], half, 2))
            a, b = pairs[..., 0], pairs[..., 1]
            return ops.reshape(ops.stack([a * cos - b * sin, a * sin + b * cos], axis=-1), shape)
        a, b = x[..., :half], x[..., half:]
        return ops.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)

    def _attention(self, x, i: int, cos, sin, bias):
        c, w = self.config, self.weights
        groups, head_dim = c.n_heads // c.n_kv_heads, c.head_dim
        length = ops.shape(x)[1]
        q = self._rotate(
            ops.reshape(ops.matmul(x, w[f"blocks.{i}.attn_q"]), (-1, length, c.n_heads, head_dim)), cos, sin
        )
        k = self._rotate(
            ops.reshape(ops.matmul(x, w[f"blocks.{i}.attn_k"]), (-1, length, c.n_kv_heads, head_dim)), cos, sin
        )
        v = ops.reshape(ops.matmul(x, w[f"blocks.{i}.attn_v"]), (-1, length, c.n_kv_heads, head_dim))
        # Query heads grouped by the key/value head they share: (B, KV, G * T, hd) against (B, KV, hd, T).
        q = ops.reshape(ops.transpose(ops.reshape(q, (-1, length, c.n_kv_heads, groups, head_dim)), (0, 2, 3, 1, 4)),
                        (-1, c.n_kv_heads, groups * length, head_dim))  # fmt: skip
        scores = ops.matmul(q, ops.transpose(k, (0, 2, 3, 1))) * (1.0 / float(np.sqrt(head_dim)))
        scores = ops.reshape(scores, (-1, c.n_kv_heads, groups, length, length)) + bias
        attention = ops.reshape(ops.softmax(scores, axis=-1), (-1, c.n_kv_heads, groups * length, length))
        mixed = ops.matmul(attention, ops.transpose(v, (0, 2, 1, 3)))  # (B, KV, G * T, hd)
        mixed = ops.reshape(ops.transpose(ops.reshape(mixed, (-1, c.n_kv_heads, groups, length, head_dim)),
                                          (0, 3, 1, 2, 4)), (-1, length, c.n_heads * head_dim))  # fmt: skip
        return ops.matmul(mixed, w[f"blocks.{i}.attn_out"])

    def _mlp(self, x, i: int):
        w = self.weights
        hidden = ops.silu(ops.matmul(x, w[f"blocks.{i}.mlp_gate"])) * ops.matmul(x, w[f"blocks.{i}.mlp_up"])
        return ops.matmul(hidden, w[f"blocks.{i}.mlp_down"])

    def _blocks(self, x, first: int, stop: int, cos, sin, bias):
        """The residual before block ``first`` carried through blocks first..stop-1."""
        for i in range(first, stop):
            x = x + self._attention(self._norm(x, self.weights[f"blocks.{i}.attn_norm"]), i, cos, sin, bias)
            x = x + self._mlp(self._norm(x, self.weights[f"blocks.{i}.mlp_norm"]), i)
        return x

    def _head(self, x):
        return ops.matmul(self._norm(x, self.weights["final_norm"]), self.weights["head"])

    # ----- compiled pieces (one chunk of sequences each) -----

    def _residual_fn(self, tokens, cos, sin, bias, after_block: int):
        x = ops.take(self.weights["embed"], tokens, axis=0)
        return self._blocks(x, 0, after_block + 1, cos, sin, bias)

    def _logits_fn(self, x, cos, sin, bias, after_block: int):
        return self._head(self._blocks(x, after_block + 1, self.config.n_layers, cos, sin, bias))

    def _loss_fn(self, x, tokens, cos, sin, bias, after_block: int):
        """Summed cross-entropy (nats) of tokens[:, t + 1] given the residual ``x`` after ``after_block`` at t."""
        x = self._blocks(x, after_block + 1, self.config.n_layers, cos, sin, bias)
        logits = self._head(x[:, :-1])
        targets = ops.expand_dims(ops.cast(tokens[:, 1:], "int32"), -1)
        picked = ops.squeeze(ops.take_along_axis(logits, targets, axis=-1), -1)
        return ops.sum(ops.logsumexp(logits, axis=-1) - picked)

    # ----- the public interface (NumPy in, NumPy out) -----

    def _tables(self, length: int):
        if length > self.config.context:
            raise ValueError(f"{length} tokens exceed the model's context of {self.config.context}")
        cos, sin = rope_tables(self.config, length)
        return ops.convert_to_tensor(cos), ops.convert_to_tensor(sin), ops.convert_to_tensor(causal_bias(length))

    def _check_block(self, after_block: int) -> int:
        if not -1 <= int(after_block) < self.config.n_layers:
            raise ValueError(f"after_block must be in -1..{self.config.n_layers - 1}, not {after_block}")
        return int(after_block)

    def _chunks(self, n: int):
        return [slice(start, min(start + self.batch_size, n)) for start in range(0, n, self.batch_size)]

    def residual(self, tokens_BT, after_block: int) -> np.ndarray:
        """(B, T, d_model) float32 residual stream after block ``after_block``, computing only blocks 0..after_block."""
        tokens = np.asarray(tokens_BT, dtype=np.int32)
        after_block = self._check_block(after_block)
        tables = self._tables(tokens.shape[1])
        parts = [self._residual(ops.convert_to_tensor(tokens[s]), *tables, after_block=after_block)
                 for s in self._chunks(len(tokens))]  # fmt: skip
        return np.concatenate([ops.convert_to_numpy(p) for p in parts], axis=0)

    def logits_from(self, residual_BTd, after_block: int) -> np.ndarray:
        """(B, T, vocab) float32 logits, continuing from the residual after ``after_block`` through the rest."""
        x = np.asarray(residual_BTd, dtype=np.float32)
        after_block = self._check_block(after_block)
        tables = self._tables(x.shape[1])
        parts = [
            self._logits(ops.convert_to_tensor(x[s]), *tables, after_block=after_block) for s in self._chunks(len(x))
        ]
        return np.concatenate([ops.convert_to_numpy(p) for p in parts], axis=0)

    def next_token_loss(
        self,
        tokens_BT,
        after_block: int | None = None,
        replace: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> float:
        """Mean cross-entropy (nats) of predicting token t+1 from tokens 0..t, over all B * (T - 1) predictions.

        With ``replace``, the residual after ``after_block`` is replaced by ``replace(residual)`` (a (B, T, d) NumPy
        array each way, called once per chunk of ``batch_size`` sequences) before the remaining blocks run.
        """
        tokens = np.asarray(tokens_BT, dtype=np.int32)
        if tokens.ndim != 2 or tokens.shape[1] < 2:
            raise ValueError(f"tokens must be (B, T) with T >= 2, not {tokens.shape}")
        if replace is not None and after_block is None:
            raise ValueError("replace needs after_block, the block whose output it replaces")
        tables = self._tables(tokens.shape[1])
        total = 0.0
        for s in self._chunks(len(tokens)):
            chunk = ops.convert_to_tensor(tokens[s])
            if replace is None:
                x, block = ops.take(self.weights["embed"], chunk, axis=0), -1
            else:
                block = self._check_block(after_block)
                x = self._residual(chunk, *tables, after_block=block)
                original = ops.convert_to_numpy(x)
                replaced = np.asarray(replace(original), dtype=np.float32)
                if replaced.shape != original.shape:
                    raise ValueError(f"replace returned shape {replaced.shape}, expected {original.shape}")
                x = ops.convert_to_tensor(replaced)
            total += float(ops.convert_to_numpy(self._loss(x, chunk, *tables, after_block=block)))
        return total / (tokens.shape[0] * (tokens.shape[1] - 1))

    def greedy(self, prompt_tokens, n_new: int) -> list[int]:
        """The ``n_new`` most likely next tokens, one at a time (the prompt plus its continuation recomputed each step).

        The sequence is padded at the end to its final length, so that every step has the same shape (one compiled
        trace); with a causal mask the padding cannot change the logits at earlier positions.
        """
        tokens = [int(t) for t in prompt_tokens]
        if not tokens:
            raise ValueError("greedy decoding needs a non-empty prompt")
        length = len(tokens) + int(n_new)
        tables = self._tables(length)
        for _ in range(int(n_new)):
            padded = np.zeros((1, length), dtype=np.int32)
            padded[0, : len(tokens)] = tokens
            x = ops.take(self.weights["embed"], ops.convert_to_tensor(padded), axis=0)
            logits = ops.convert_to_numpy(self._logits(x, *tables, after_block=-1))
            tokens.append(int(np.argmax(logits[0, len(tokens) - 1])))
        return tokens[-int(n_new) :] if n_new else []
