"""Account config (accounts/<name>/config.yml): validated, with errors that name file and field."""
from __future__ import annotations

import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from scripts.core.workspace import PLATFORMS, SCHEMA_DIR, Workspace, account_name_problem
from scripts.core.yamlfile import YamlFileError, read_yaml, validate

DEFAULT_FORMATS = ("habit_list", "step_guide", "scripts", "boring_habits", "how_to")
# a format or pillar name: the rule of the context the generator reads, so every name a config
# accepts can also be written into performance_context.json
LEVEL_NAME = re.compile(json.loads((SCHEMA_DIR / "performance_context.schema.json").read_text())
                        ["$defs"]["name"]["pattern"])


class ConfigError(YamlFileError):
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

    @field_validator("formats")
    @classmethod
    def _format_names(cls, value: list[str]) -> list[str]:
        for fmt in value:
            if not LEVEL_NAME.match(fmt):
                raise ValueError(f"format name {fmt!r} must be lower_snake_case ({LEVEL_NAME.pattern})")
        return value

    @field_validator("content_pillars")
    @classmethod
    def _pillar_keywords(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for pillar, keywords in value.items():
            if not LEVEL_NAME.match(pillar):
                raise ValueError(f"pillar name {pillar!r} must be lower_snake_case ({LEVEL_NAME.pattern})")
            if not keywords:
                raise ValueError(f"pillar {pillar!r} has no keywords")
        return {p: [str(k).lower() for k in kw] for p, kw in value.items()}

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_config(path: Path) -> AccountConfig:
    """Parse and validate one config.yml; raise ConfigError naming the file and field."""
    path = Path(path)
    data = read_yaml(path, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    data.setdefault("name", path.parent.name)
    return validate(AccountConfig, data, path, ConfigError)


def load_accounts(ws: Workspace) -> tuple[dict[str, AccountConfig], list[str]]:
    """Every account's config; a bad one is reported and skipped, never stops the rest."""
    configs, errors = {}, []
    for name in ws.account_folders():
        problem = account_name_problem(name)
        if problem:
            errors.append(f"{ws.accounts_dir / name / 'config.yml'}: {problem}")
            continue
        try:
            configs[name] = load_config(ws.config_path(name))
        except ConfigError as exc:
            errors.append(str(exc))
    return configs, errors
