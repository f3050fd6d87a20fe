"""Signed cache entries: a pickle behind a header that names what it is, the HMAC-SHA256 of key and
pickle under this user's secret, and the key it was stored under (docs/analyze.md).

A pickle runs code when it is loaded, so an entry is unpickled only when its signature was made with
this user's secret: one planted in a workspace, or copied from another machine, is a miss and is never
loaded. Anything else wrong (a torn, truncated or foreign file, another key, a device) is a miss too;
a cache only ever saves time, so what is in it never decides a result."""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import pickle
import secrets
from pathlib import Path

from scripts.core.files import read_bytes_bounded, write_bytes_atomic


def signing_key() -> bytes | None:
    """The secret that signs cache entries, kept outside every workspace (in the user's cache folder,
    mode 0600, made once). None (no cache) when it cannot be read or made."""
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "account-analytics"
    path = folder / "cache-key"
    try:
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(secrets.token_bytes(32))
        key = read_bytes_bounded(path, 64)
        return key if len(key) == 32 else None
    except (OSError, ValueError):
        return None


_secrets: dict[str, bytes | None] = {}


def _secret() -> bytes | None:
    """signing_key, read (or found missing) once per process and cache folder: a step reads
    hundreds of entries."""
    where = os.environ.get("XDG_CACHE_HOME") or str(Path.home())
    if where not in _secrets:
        _secrets[where] = signing_key()
    return _secrets[where]


def entry_signature(secret: bytes, key: str, payload: bytes) -> bytes:
    return hmac.new(secret, key.encode() + b"\n" + payload, hashlib.sha256).hexdigest().encode()


def read_entry(path: Path, magic: bytes, key: str, max_bytes: int):
    """The object a signed entry holds under this key, or None (a miss) whatever is wrong."""
    try:
        secret = _secret()
        if secret is None:
            return None
        blob = read_bytes_bounded(path, max_bytes)  # a regular file only, never a device
        if not blob.startswith(magic):
            return None
        signature, stored_key, payload = blob[len(magic):].split(b"\n", 2)
        if stored_key != key.encode() or not hmac.compare_digest(signature, entry_signature(secret, key, payload)):
            return None
        return pickle.loads(payload)
    except Exception:  # a missing, torn or foreign file: recomputed
        return None


def write_entry(path: Path, magic: bytes, key: str, value) -> bool:
    """Atomically; whether it was written. A cache that cannot be written (disk full, read-only, no
    secret) only costs time."""
    try:
        secret = _secret()
        if secret is None:
            return False
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        write_bytes_atomic(path, magic + entry_signature(secret, key, payload) + b"\n" + key.encode() + b"\n" + payload)
        return True
    except Exception:
        return False
