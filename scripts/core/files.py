"""Atomic artifact writes and the pipeline lock: nothing stored is ever half-written."""
from __future__ import annotations

import contextlib
import fcntl
import glob
import gzip
import json
import math
import os
import stat
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any, Iterator

import orjson


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


def write_bytes_atomic(path: Path, data: bytes, mtime_ns: int | None = None) -> None:
    """write_text_atomic for bytes; with mtime_ns, the file gets that modification time before it
    is renamed into place (compress-raw keeps an envelope's, so load knows it for the same file)."""
    path = Path(path)
    try:
        _write_and_rename(path, data, mtime_ns)
    except OSError as exc:
        failed = WriteFailed(f"{path}: cannot write ({exc.strerror or exc})")
        failed.reason = exc.strerror or str(exc)
        raise failed from None


def _write_and_rename(path: Path, text: str | bytes, mtime_ns: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):  # left by a writer that was killed
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, ARTIFACT_MODE)
        with (os.fdopen(fd, "wb") if isinstance(text, bytes) else os.fdopen(fd, "w", encoding="utf-8")) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mtime_ns is not None:
            os.utime(tmp, ns=(mtime_ns, mtime_ns))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def json_text(data: Any, indent: int | None = 2) -> str:
    """The one way the project writes JSON: NaN and Infinity refused (they are not JSON, and
    other readers choke on them), non-ASCII kept."""
    return json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False)


def write_json_atomic(path: Path, data: Any) -> None:
    try:
        text = json_text(data) + "\n"
    except ValueError as exc:  # a NaN or Infinity: a bug upstream, never written
        raise WriteFailed(f"{path}: not written ({exc})") from None
    write_text_atomic(path, text)


# gzip level 6 (gzip(1)'s default): a raw envelope shrinks about tenfold (docs/bench.md), at a
# tenth of level 9's time; no name or time in the header, so the same envelope gives the same bytes
GZIP_LEVEL = 6


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def write_json_gz_atomic(path: Path, data: Any) -> None:
    """A JSON document gzipped (compact: it is read by programs, `zcat | jq` shows it), atomically."""
    try:
        text = json_text(data, indent=None)
    except ValueError as exc:
        raise WriteFailed(f"{path}: not written ({exc})") from None
    write_bytes_atomic(path, gzip_bytes(text.encode("utf-8")))


def gzip_isize(path: Path) -> int | None:
    """The uncompressed size a gzip file records in its last four bytes (modulo 2**32), without
    reading the rest; None if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            handle.seek(-4, os.SEEK_END)
            tail = handle.read(4)
    except OSError:
        return None
    return int.from_bytes(tail, "little") if len(tail) == 4 else None


class UnreadableJson(ValueError):
    """A file that is not UTF-8 JSON within our bounds. The message is the one-line reason,
    without the path, which each caller puts where its own error lines put it."""


# bounds on what any JSON input may be: no reader of ours needs more, and past them a hostile
# file would cost memory (a symlink to /dev/zero, a gzip bomb) or the stack (deep nesting)
MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_JSON_DEPTH = 64


def _refuse_constant(name: str):
    raise UnreadableJson(f"not valid JSON ({name} is not a JSON number)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400 is valid JSON, but no float: Python would read it as Infinity
        raise UnreadableJson(f"number {text[:24]} is beyond what a float can hold")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than limit (iterative, so it cannot itself overflow)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def finite_number(value, text_ok: bool = False) -> float | None:
    """A JSON value as a finite float, or None: not a number (a bool is none; a numeric string
    only with text_ok), NaN or Infinity, or an integer too large for a float (10**400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str) if text_ok else (int, float)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def read_bytes_bounded(path: Path, max_bytes: int = MAX_JSON_BYTES) -> bytes:
    """A regular file's bytes (through symlinks, but never a device, FIFO or folder), at most
    max_bytes after gunzip for a .gz file; UnreadableJson otherwise."""
    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableJson("not a regular file")
        if info.st_size > max_bytes:
            raise UnreadableJson(f"larger than {max_bytes // 2**20} MiB")
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:  # dangling or looping symlink, no permission
        raise UnreadableJson(f"cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise UnreadableJson(f"larger than {max_bytes // 2**20} MiB")
    return gunzip_bounded(data, max_bytes) if path.name.endswith(".gz") else data


def gunzip_bounded(data: bytes, max_bytes: int = MAX_JSON_BYTES) -> bytes:
    """A gzip file's content, at most max_bytes of it (a gzip bomb is refused, never inflated
    whole): zlib in one call per member, a few times faster than reading through gzip.open.
    Members written one after the other (cat a.gz b.gz) are one file, as gzip(1) reads them."""
    parts, total = [], 0
    while data:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # a gzip header and trailer
        try:
            part = inflater.decompress(data, max_bytes + 1 - total)
        except zlib.error as exc:
            raise UnreadableJson(f"not a valid gzip file ({exc})") from None
        total += len(part)
        parts.append(part)
        if total > max_bytes or inflater.unconsumed_tail:
            raise UnreadableJson(f"larger than {max_bytes // 2**20} MiB once decompressed")
        if not inflater.eof:
            raise UnreadableJson("cannot read (the gzip stream is cut short)")
        data = inflater.unused_data
    if not parts:
        raise UnreadableJson("cannot read (an empty gzip file)")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES, max_depth: int | None = MAX_JSON_DEPTH) -> Any:
    """A JSON file's value (`.json`, or gzipped `.json.gz`). Anything else raises UnreadableJson
    with a one-line reason: not a regular file, too large, not UTF-8, not JSON, NaN or
    Infinity, or nested deeper than max_depth. max_depth=None leaves out the walk that checks
    it (a hot path whose own reader copes with any depth the parser's recursion limit lets
    through)."""
    data = read_bytes_bounded(path, max_bytes)
    value = _fast_parse(data)
    if value is _SLOW:
        value = _parse(data, max_depth)
    if max_depth is not None and _depth_exceeds(value, max_depth):
        raise UnreadableJson(f"nested deeper than {max_depth} levels")
    return value


# orjson reads JSON four to five times faster than the standard library, with the same result for
# everything it accepts but integers beyond 64 bits (it makes them floats): a document that may
# hold one, and every document orjson refuses, is read by the standard library, whose reading
# (and one-line reason) is the rule.
_SLOW = object()
# twenty digits in a row, found at memory speed (a regex takes ten times as long): every digit
# read as 0, then one search. A run inside a string (a long id in a URL) only costs the slow read.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"0" * 9)
_TWENTY_DIGITS = b"0" * 20


def _fast_parse(data: bytes):
    if _TWENTY_DIGITS in data.translate(_DIGITS_AS_ZERO):
        return _SLOW
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _SLOW


def _parse(data: bytes, max_depth: int | None) -> Any:
    try:
        return json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise UnreadableJson(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except UnicodeDecodeError:
        raise UnreadableJson("not UTF-8 text") from None
    except RecursionError:
        raise UnreadableJson(f"nested deeper than {max_depth or 'the parser allows'} levels") from None


class LockBusy(RuntimeError):
    pass


@contextlib.contextmanager
def pipeline_lock(lock_path: Path, wait_seconds: float = 0.0) -> Iterator[int]:
    """One pipeline run per workspace at a time: an flock on an open file, held for as long as
    any process holds the descriptor this yields. Pass it on to the run's processes (pass_fds)
    and the lock lasts until the last of them ends, even if the process that took it is killed.

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
            yield handle.fileno()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def hash_files(digest, root: Path, paths) -> None:
    """Each file's path under root and its bytes into digest, in path order: a fingerprint of code
    that changes when a file's content, or the set of files, changes (the analyze cache's key and
    the dashboard's manifest)."""
    for path in sorted(paths):
        digest.update(f"\0{path.relative_to(root)}\0".encode())
        digest.update(path.read_bytes())
