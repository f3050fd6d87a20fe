"""YAML settings files (config.yml, scrape.yml) into pydantic models, with one error wording:
'<file>: <field>: <problem>' or '<file>: line N: invalid YAML (<problem>)'."""
from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class YamlFileError(ValueError):
    """One line naming the file, then the field or line, then the problem."""


def read_yaml(path: Path, error: type[YamlFileError] = YamlFileError):
    """The parsed document; `error` (naming the file) if it cannot be read or parsed."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise error(f"{path}: {where}invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an impossible date, or nesting too deep
        raise error(f"{path}: invalid YAML ({type(exc).__name__}: {str(exc)[:120]})") from None


def validation_problem(exc: ValidationError) -> str:
    """pydantic's first error as '<field.path>: <message>'."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"{field}: {first['msg']}"


def validate(model: type[Model], data, path: Path, error: type[YamlFileError] = YamlFileError) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{path}: {validation_problem(exc)}") from None
