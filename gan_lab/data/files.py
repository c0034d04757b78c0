"""Files: checksums, verified downloads, errors that name the culprit."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path


class DataError(ValueError):
    """A data file exists but is not what it should be (corrupt, wrong checksum, wrong shape)."""


class DatasetNotFoundError(FileNotFoundError):
    """A real dataset is neither on disk nor downloadable."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, path: Path, sha256: str | None = None, timeout: float = 20.0) -> Path:
    """Download ``url`` to ``path`` via a ``.part`` file, verifying its sha256.

    The file appears at ``path`` only once complete and verified, so an interrupted or
    corrupt download never looks like a valid cached file.

    Raises:
        OSError: the download failed (offline, host unreachable, HTTP error).
        DataError: the downloaded bytes do not match ``sha256``; the partial file is removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as f:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                f.write(chunk)
        if sha256 is not None and (got := sha256_of(part)) != sha256:
            raise DataError(
                f"Checksum mismatch for {url} (saved as {part}): expected sha256 {sha256}, "
                f"got {got}. The partial file was removed; retry, or download the file by "
                f"hand and place it at {path}."
            )
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return path
