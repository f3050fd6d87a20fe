"""make compress-raw: every plain raw envelope <stamp>.json of a workspace gzipped into
<stamp>.json.gz, once (scrape and import write .json.gz themselves; older workspaces hold .json).

Each file is converted on its own, and nothing is lost at any point:
1. its bytes are gzipped into a temporary file in the same folder, flushed to disk, and given the
   .json's modification time (load recognises the envelope it already loaded by that time and by
   the size the gzip file records: load.is_unchanged);
2. the temporary file is read back the way load reads it (scripts/core/files.gunzip_bounded) and
   must give the .json's bytes exactly (so its parsed content is the same too), or it is removed
   and the .json kept;
3. it is renamed to <stamp>.json.gz (the folder flushed), and only then is the .json removed.
A run stopped anywhere leaves the .json, or the .json and its verified .json.gz (the listing reads
the .json while both exist: Workspace.raw_files); the next run finishes the job. A .json beside a
.json.gz that holds something else is reported and both are kept. Running it again does nothing.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from scripts.core.files import (MAX_JSON_BYTES, UnreadableJson, WriteFailed, gunzip_bounded, gzip_bytes,
                                read_bytes_bounded, write_bytes_atomic)
from scripts.core.problems import Problems
from scripts.core.progress import progress
from scripts.core.workspace import COMPRESSED_SUFFIX, PLATFORMS, RAW_SUFFIX, Workspace, raw_stamp


class NotConverted(Exception):
    """This file stays as it is; the message says why."""


@dataclass
class Totals:
    converted: int = 0
    finished: int = 0      # a .json whose verified .json.gz an earlier, stopped run had written
    bytes_before: int = 0
    bytes_after: int = 0


def plain_envelopes(ws: Workspace) -> list[Path]:
    """Every plain <stamp>.json under data/raw/<platform>/<account>/ (not the rejected ones)."""
    return sorted(p for platform in PLATFORMS for p in (ws.raw_dir / platform).glob(f"*/*{RAW_SUFFIX}"))


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _original(path: Path) -> tuple[bytes, os.stat_result]:
    if path.is_symlink():
        raise NotConverted("a symlink; left as it is")
    try:
        info = path.stat()
        data = read_bytes_bounded(path, MAX_JSON_BYTES)
    except (OSError, UnreadableJson) as exc:
        raise NotConverted(f"{exc}; left as it is") from None
    return data, info


def _holds(gz_path: Path, data: bytes) -> bool:
    """Whether a gzip file decompresses, as load reads it, to exactly these bytes."""
    try:
        return gunzip_bounded(gz_path.read_bytes(), MAX_JSON_BYTES) == data
    except (OSError, UnreadableJson):
        return False


def convert(path: Path, totals: Totals) -> None:
    """One .json into its .json.gz, verified, then the .json removed (raises NotConverted)."""
    target = path.with_name(raw_stamp(path) + COMPRESSED_SUFFIX)
    data, info = _original(path)
    if target.exists() or target.is_symlink():
        if not _holds(target, data):
            raise NotConverted(f"{target.name} beside it holds something else; both kept (remove the wrong one)")
        path.unlink()  # an earlier run wrote and verified the .json.gz, then stopped
        totals.finished += 1
        return
    compressed = gzip_bytes(data)
    scratch = path.with_name(f".{target.name}.verify.tmp")
    try:
        write_bytes_atomic(scratch, compressed, mtime_ns=info.st_mtime_ns)
        if not _holds(scratch, data):
            raise NotConverted("the compressed copy did not read back the same; left as it is")
        os.replace(scratch, target)
        _fsync_folder(path.parent)
    except WriteFailed as exc:
        raise NotConverted(f"cannot write {target.name} ({exc.reason}); left as it is") from None
    except OSError as exc:  # the rename, or flushing the folder
        raise NotConverted(f"cannot put {target.name} in place ({exc.strerror or exc}); left as it is") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()
    path.unlink()
    _fsync_folder(path.parent)
    totals.converted += 1
    totals.bytes_before += len(data)
    totals.bytes_after += len(compressed)


def _remove_leftovers(ws: Workspace) -> None:
    """Temporary files of a run that was killed (never a .json or .json.gz)."""
    for platform in PLATFORMS:
        for stale in (ws.raw_dir / platform).glob("*/.*.verify.tmp*"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()


def compress_workspace(ws: Workspace, quiet: bool = False) -> Problems:
    problems = Problems("compress-raw")
    _remove_leftovers(ws)
    todo = plain_envelopes(ws)
    totals = Totals()
    with progress(len(todo), "compress-raw: raw files", quiet=quiet) as bar:
        for path in todo:
            try:
                convert(path, totals)
            except NotConverted as exc:
                problems.add(f"{path.relative_to(ws.root)}: not compressed: {exc}")
            bar.advance()
    if not quiet:
        ratio = f", {totals.bytes_before / totals.bytes_after:.1f}x smaller" if totals.bytes_after else ""
        mib = 2 ** 20
        print(f"compress-raw: {totals.converted} raw files gzipped ({totals.bytes_before / mib:,.0f} MiB -> "
              f"{totals.bytes_after / mib:,.0f} MiB{ratio})"
              + (f", {totals.finished} left by an earlier run finished" if totals.finished else "")
              + f" under {ws.raw_dir}")
    return problems
