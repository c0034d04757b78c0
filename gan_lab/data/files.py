"""Files: checksums, verified downloads with progress, Keras' cache, atomic extraction."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from gan_lab import runtime
from gan_lab.errors import DataError


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    return _digest(path, hashlib.sha256())


def md5_of(path: Path) -> str:
    """Hex md5 of a file, read in chunks (Keras' checksum of its application weights)."""
    return _digest(path, hashlib.md5())


def _digest(path: Path, digest) -> str:
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def keras_cache(subdir: str, name: str) -> Path:
    """Where ``keras.utils.get_file`` keeps a downloaded file, e.g.
    ``keras_cache("datasets", "mnist.npz")``: under ``$KERAS_HOME``, else ``~/.keras``;
    ``/tmp/.keras`` where that is not writable (Keras' own rule)."""
    if os.environ.get("KERAS_HOME"):
        home = Path(os.environ["KERAS_HOME"]).expanduser()
    else:
        base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        home = base / ".keras"
    if home.exists() and not os.access(home, os.W_OK):
        home = Path("/tmp/.keras")
    return home / subdir / name


def download(
    url: str,
    path: Path,
    sha256: str | None = None,
    *,
    md5: str | None = None,
    timeout: float = 20.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``path`` via a ``.part`` file, showing its size and progress,
    and verify its checksum.

    The file appears at ``path`` only once complete and verified, so an interrupted or
    corrupt download never looks like a valid cached file.

    Args:
        url: what to download.
        path: where the file goes; its folder is created.
        sha256, md5: the expected checksum (give at most one; None: not checked).
        timeout: seconds to wait for the server (default 20).
        progress: show a progress bar (default True).

    Raises:
        OSError: the download failed (offline, host unreachable, HTTP error).
        DataError: the downloaded bytes do not match the checksum; the partial file is
            removed.
    """
    from tqdm.auto import tqdm

    path = Path(path)
    created = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as f:
            size = int(response.headers.get("Content-Length") or 0) or None
            print(f"gan_lab: downloading {url} to {path}")
            with tqdm(
                total=size, unit="B", unit_scale=True, desc=path.name, disable=not progress
            ) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    f.write(chunk)
                    bar.update(len(chunk))
        for name, expected, of in (("sha256", sha256, sha256_of), ("md5", md5, md5_of)):
            if expected is not None and (got := of(part)) != expected:
                raise DataError(
                    f"Checksum mismatch for {url} (saved as {part}): expected {name} "
                    f"{expected}, got {got}. The partial file was removed; retry, or download "
                    f"the file by hand and place it at {path}."
                )
        runtime.fsync(part)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
        if created and not path.exists() and not any(path.parent.iterdir()):
            path.parent.rmdir()  # leave no empty cache folder behind a failed download
    return path


def resolve_root(data_dir: str | Path | None) -> Path:
    """The folder to look for datasets in: ``data_dir`` if given, else the data root."""
    return Path(data_dir).expanduser() if data_dir is not None else runtime.data_root()


def extract_atomically(
    archive: Path, root: Path, name: str, validate: Callable[[Path], list[str]]
) -> Path:
    """Unpack a zip or tar.gz ``archive`` into ``root/name``, validated, all or nothing.

    The archive is unpacked into a hidden temporary folder, checked with ``validate``
    (which returns a list of problems), and only then renamed into place: an interrupted,
    corrupt or incomplete extraction never leaves a folder that later looks valid.

    Raises:
        DataError: the archive is unreadable, or ``validate`` found problems (listed).
    """
    partial = root / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(partial)
            else:
                with tarfile.open(archive) as tar:
                    tar.extractall(partial, filter="data")
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
            raise DataError(
                f"{archive} is not a readable archive ({e}). Delete it and download it again "
                f"(`make data`), or place the extracted folder at {root / name}."
            ) from e
        inner = partial / name if (partial / name).is_dir() else partial
        problems = validate(inner)
        if problems:
            raise DataError(
                f"{archive} does not hold the expected {name} files: " + "; ".join(problems)
            )
        os.replace(inner, root / name)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return root / name
