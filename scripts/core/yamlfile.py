"""YAML settings files (config.yml, scrape.yml) into pydantic models, with one error wording:
'<file>: <field>: <problem>' or '<file>: line N: invalid YAML (<problem>)'."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from scripts.core.files import UnreadableJson, read_bytes_bounded

Model = TypeVar("Model", bound=BaseModel)

# a settings file is a few hundred bytes; 1 MiB leaves room for any honest one, and keeps a
# symlink to /dev/zero or a 20 MB pasted value from being read into memory
MAX_YAML_BYTES = 2**20
SHOWN_CHARS = 60  # how much of a bad value or name an error line quotes


class YamlFileError(ValueError):
    """One line naming the file, then the field or line, then the problem."""


def one_line(text: object, limit: int = 200) -> str:
    """A message part on one line and at most `limit` characters, whatever a file held."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def shown(value: object) -> str:
    """A value quoted in an error line: repr (so blanks and control characters show), cut short."""
    text = repr(value) if isinstance(value, str) else one_line(value, SHOWN_CHARS)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 1] + "…"


def field_name(key: object) -> str:
    """A key as an error line names it: as it is, unless it is huge or holds a newline or blank."""
    text = str(key)
    return text if text and text.isprintable() and text.strip() == text and len(text) <= SHOWN_CHARS else shown(text)


def did_you_mean(word: object, known: Iterable[str]) -> str:
    """' (did you mean 'timezone'?)' for a near miss, '' when nothing is close."""
    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key_problem(data: dict, known: Iterable[str]) -> str | None:
    """'<key>: unknown field (did you mean …?)' for the first key not in `known`: a typo in a
    settings file must be an error, never a field silently left at its default."""
    known = list(known)
    for key in data:
        if key not in known:
            hint = did_you_mean(key, known) or f" (the fields are {', '.join(known)})"
            return f"{field_name(key)}: unknown field{hint}"
    return None


def read_yaml(path: Path, error: type[YamlFileError] = YamlFileError, max_bytes: int = MAX_YAML_BYTES):
    """The parsed document; `error` (naming the file) if it cannot be read or parsed: not a regular
    file, larger than max_bytes, not UTF-8, not YAML."""
    try:
        text = read_bytes_bounded(path, max_bytes).decode("utf-8")
        return yaml.safe_load(text)
    except UnreadableJson as exc:  # the bounded reader's reason: not a regular file, too large
        raise error(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise error(f"{path}: {where}invalid YAML ({one_line(getattr(exc, 'problem', None) or exc)})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an impossible date, or nesting too deep
        raise error(f"{path}: invalid YAML ({type(exc).__name__}: {one_line(exc, 120)})") from None


def validation_problem(exc: ValidationError) -> str:
    """pydantic's first error as '<field.path>: <message>', on one line however odd the keys."""
    first = exc.errors()[0]
    field = ".".join(field_name(part) for part in first["loc"]) or "(top level)"
    return f"{field}: {one_line(first['msg'], 300)}"


def validate(model: type[Model], data, path: Path, error: type[YamlFileError] = YamlFileError) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{path}: {validation_problem(exc)}") from None
