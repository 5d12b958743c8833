"""What every cache and checkpoint write shares: content keys, locks, atomic files, staged folders.

- `content_key` / `digest` / `file_key`: stable hashes that name cached things, so that a changed
  input gives another name.
- `locked`: an exclusive `fcntl.flock` held for a block, so that concurrent processes compute a
  thing once.
- `write_atomically`: a file written beside its target, fsynced and renamed into place, so that a
  reader (or a kill) sees the old file or the new one, never a part.
- `staged_folder`: a folder built under a temporary sibling name and renamed into place whole.
"""

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def digest(data: str | bytes, chars: int = 64) -> str:
    """The first `chars` hex digits of the SHA-256 of `data` (text as UTF-8)."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()[:chars]


def content_key(value: Any, chars: int) -> str:
    """`digest` of a JSON-able value, independent of its dicts' key order."""
    return digest(json.dumps(value, sort_keys=True), chars)


def file_key(path: str | Path) -> str:
    """A hash of the file's absolute path, size and mtime_ns: changes when the file is rewritten."""
    path = Path(path).resolve()
    stat = path.stat()
    return digest(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}", 32)


@contextmanager
def locked(path: Path, blocking: bool = True) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if needed) for the duration of the block; not
    `blocking`, raise `BlockingIOError` at once when another process holds it."""
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write` on a temporary file beside `path` (`.NAME.*.tmp`), fsync it and rename it
    over `path`, then fsync the folder: `path` is the old file or the new one, whole. The
    temporary file is removed when anything fails (only a hard kill leaves it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name rather than mkstemp's file, so that `write` creates it with the usual mode.
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(temporary)
        with temporary.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_once(path: Path, write: Callable[[Path], object]) -> bool:
    """`write_atomically(path, write)` unless `path` exists, under the lock `path.lock`, so that
    concurrent callers write it once; True when this call wrote it."""
    if path.is_file():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.with_name(f"{path.name}.lock")):
        if path.is_file():  # another process wrote it while this one waited
            return False
        write_atomically(path, write)
        return True


@contextmanager
def staged_folder(folder: Path) -> Iterator[Path]:
    """Yields an empty temporary sibling of `folder` to build in; when the block ends without an
    error it is renamed to `folder`, unless another process published `folder` first (then that
    one is used). The temporary folder is removed in any case."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        yield staging
        try:
            os.rename(staging, folder)
        except OSError:
            if not folder.is_dir():
                raise
            log.info("another process built %s first; using it", folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    """Makes a rename in `folder` durable (where the OS supports opening folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
