"""Atomic artifact writes and the pipeline lock: nothing stored is ever half-written."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator


# mkstemp creates files for the owner only; artifacts get the usual mode, as open() would give
_UMASK = os.umask(0)
os.umask(_UMASK)
ARTIFACT_MODE = 0o666 & ~_UMASK


class WriteFailed(OSError):
    """An artifact could not be written (disk full, no permission); the old one is intact."""


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target.
    On failure the old file is untouched, the temporary file removed, and WriteFailed says
    which file in one line."""
    path = Path(path)
    try:
        _write_and_rename(path, text)
    except OSError as exc:
        raise WriteFailed(f"{path}: cannot write ({exc.strerror or exc})") from None


def _write_and_rename(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, ARTIFACT_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


class UnreadableJson(ValueError):
    """A file that is not UTF-8 JSON. The message is the one-line reason, without the path,
    which each caller puts where its own error lines put it."""


def read_json(path: Path) -> Any:
    """A JSON file's value. A file that is not UTF-8 JSON raises UnreadableJson saying where."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise UnreadableJson(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except UnicodeDecodeError:
        raise UnreadableJson("not UTF-8 text") from None


class LockBusy(RuntimeError):
    pass


@contextlib.contextmanager
def pipeline_lock(lock_path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """One pipeline run per workspace at a time (an flock, released by the kernel if we die).

    With wait_seconds > 0 the second run waits that long before giving up with LockBusy.
    """
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(f"{lock_path}: another pipeline run holds the lock; try again when it ends")
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
