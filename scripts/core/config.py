"""Account config (accounts/<name>/config.yml): validated, with errors that name file and field."""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scripts.core.workspace import ACCOUNT_NAME, PLATFORMS, Workspace

DEFAULT_FORMATS = ["habit_list", "step_guide", "scripts", "boring_habits", "how_to"]


class ConfigError(ValueError):
    """One line: '<file>: <field>: <problem>'."""


class AccountConfig(BaseModel):
    model_config = ConfigDict(extra="allow")  # the generator's own fields live here too

    name: str = ""
    platform_profiles: dict[str, str] = Field(default_factory=dict)
    timezone: str = "UTC"
    content_pillars: dict[str, list[str]] = Field(default_factory=dict)
    formats: list[str] = Field(default_factory=lambda: list(DEFAULT_FORMATS))

    @field_validator("platform_profiles")
    @classmethod
    def _known_platforms(cls, value: dict[str, str]) -> dict[str, str]:
        for platform, handle in value.items():
            if platform not in PLATFORMS:
                raise ValueError(f"unknown platform {platform!r} (expected {', '.join(PLATFORMS)})")
            if not isinstance(handle, str) or not handle.strip().lstrip("@"):
                raise ValueError(f"empty profile handle for {platform}")
        return {p: h.strip().lstrip("@") for p, h in value.items()}

    @field_validator("timezone")
    @classmethod
    def _real_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @field_validator("content_pillars")
    @classmethod
    def _pillar_keywords(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for pillar, keywords in value.items():
            if not ACCOUNT_NAME.match(pillar):
                raise ValueError(f"pillar name {pillar!r} must be lower_snake_case")
            if not keywords:
                raise ValueError(f"pillar {pillar!r} has no keywords")
        return {p: [str(k).lower() for k in kw] for p, kw in value.items()}

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"{field}: {first['msg']}"


def load_config(path: Path) -> AccountConfig:
    """Parse and validate one config.yml; raise ConfigError naming the file and field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(f"{path}: {where}invalid YAML ({getattr(exc, 'problem', exc)})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    data.setdefault("name", path.parent.name)
    try:
        return AccountConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from None


def load_accounts(ws: Workspace) -> tuple[dict[str, AccountConfig], list[str]]:
    """Every account's config; a bad one is reported and skipped, never stops the rest."""
    configs, errors = {}, []
    for name in ws.account_names():
        try:
            configs[name] = load_config(ws.config_path(name))
        except ConfigError as exc:
            errors.append(str(exc))
    return configs, errors
