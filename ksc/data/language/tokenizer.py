"""Text to token ids and back: the byte-level BPE stored in a GGUF file, and a plain byte tokenizer.

``tokenizer_from_gguf`` rebuilds, with the ``tokenizers`` package, the tokenizer llama.cpp stores in a GGUF file
(``tokenizer.ggml.tokens``, ``.merges``, ``.token_type``, ``.pre``). For SmolLM2 (``pre == "smollm"``) that is:
no normaliser; a pre-tokenizer that first splits every digit on its own, then splits with the GPT-2 regex and maps
bytes to GPT-2's printable alphabet (no prefix space); BPE with the stored merges; a byte-level decoder. Control
tokens (``<|im_start|>``, ``<|endoftext|>``...) are special: ``encode`` maps their literal text to their id.
Encoding adds no BOS token, as the GGUF's ``tokenizer.ggml.add_bos_token`` (false for SmolLM2) says.

``byte_tokenizer`` maps text to its UTF-8 bytes (vocabulary 256), for the tiny random model.
"""

from __future__ import annotations

from typing import Protocol

from ksc.data.language.gguf_weights import TokenizerData

_CONTROL = 3  # llama.cpp's token type of special tokens
_PRE_TOKENIZERS = ("smollm", "gpt2", "default")  # the byte-level BPE pre-tokenizers built here (digits split or not)


class TextTokenizer(Protocol):
    vocab_size: int

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


class BPETokenizer:
    """A ``tokenizers.Tokenizer`` behind ``encode``/``decode`` of plain lists."""

    def __init__(self, tokenizer, vocab_size: int):
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)

    def token(self, i: int) -> str:
        """The text of one token id."""
        return self.decode([i])


def tokenizer_from_gguf(data: TokenizerData) -> BPETokenizer:
    """The byte-level BPE tokenizer described by a GGUF file's tokenizer data (``gguf_weights.read_gguf``)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    if data.pre not in _PRE_TOKENIZERS:
        raise ValueError(f"pre-tokenizer {data.pre!r} is not built here (only {', '.join(_PRE_TOKENIZERS)})")
    vocab = {token: i for i, token in enumerate(data.tokens)}
    merges = [tuple(merge.split(" ", 1)) for merge in data.merges]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if data.pre == "smollm":
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        tokenizer.pre_tokenizer = byte_level
    tokenizer.decoder = decoders.ByteLevel()
    special = [data.tokens[i] for i, kind in enumerate(data.token_types) if kind == _CONTROL]
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in special])
    return BPETokenizer(tokenizer, len(data.tokens))


class ByteTokenizer:
    """UTF-8 bytes as token ids (vocabulary 256); undecodable byte sequences decode to U+FFFD."""

    vocab_size = 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids) -> str:
        return bytes(int(i) for i in ids).decode("utf-8", errors="replace")


def byte_tokenizer() -> ByteTokenizer:
    """The byte tokenizer (vocabulary 256) that fits ``gguf_weights.tiny_random``'s default model."""
    return ByteTokenizer()
