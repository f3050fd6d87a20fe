"""Account config (accounts/<name>/config.yml): validated, with errors that name file and field.

Every field is checked, because a config that is quietly wrong changes what is analysed without
anyone noticing: an unknown key (a typo such as `timezon:`) is an error with a did-you-mean,
`timezone` must be stated, a keyword may not be blank (it would match every post), and every
size is capped. The content generator's own settings live under `generator:`, kept as they are.
"""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from scripts.core.workspace import PLATFORMS, SCHEMA_DIR, Workspace, account_name_problem
from scripts.core.yamlfile import (YamlFileError, did_you_mean, read_yaml, shown, unknown_key_problem,
                                   validate)

DEFAULT_FORMATS = ("habit_list", "step_guide", "scripts", "boring_habits", "how_to")
_CONTEXT_DEFS = json.loads((SCHEMA_DIR / "performance_context.schema.json").read_text())["$defs"]
# a format or pillar name: the rule of the context the generator reads, so every name a config
# accepts can also be written into performance_context.json (its pattern and length, and how
# many of them a list in the context may hold)
LEVEL_NAME = re.compile(_CONTEXT_DEFS["name"]["pattern"])
MAX_NAME_CHARS = _CONTEXT_DEFS["name"]["maxLength"]
MAX_PILLARS = _CONTEXT_DEFS["pillar_list"]["maxItems"]
MAX_FORMATS = _CONTEXT_DEFS["format_list"]["maxItems"]
# generous caps of our own: handles are at most 30 characters on both platforms, and a pillar
# needs a handful of words, not hundreds
MAX_HANDLE_CHARS = 100
MAX_KEYWORDS = 100
MAX_KEYWORD_CHARS = 100


class ConfigError(YamlFileError):
    """One line: '<file>: <field>: <problem>'."""


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _level_name_problem(kind: str, name: object) -> str | None:
    if not isinstance(name, str) or not LEVEL_NAME.fullmatch(name):  # match's $ lets 'x\n' through
        return f"{kind} name {shown(name)} must be lower_snake_case ({LEVEL_NAME.pattern})"
    if len(name) > MAX_NAME_CHARS:
        return f"{kind} name {shown(name)} is longer than {MAX_NAME_CHARS} characters"
    return None


def _keyword_problem(pillar: str, keyword: str) -> str | None:
    if not keyword.strip():  # a blank keyword matches every post: the pillar would swallow them all
        return f"pillar {pillar!r} has a blank keyword"
    if len(keyword) > MAX_KEYWORD_CHARS:
        return f"pillar {pillar!r} has a keyword longer than {MAX_KEYWORD_CHARS} characters"
    return None


class AccountConfig(BaseModel):
    # no field the model does not know: a typo would otherwise be kept and the real field defaulted
    model_config = ConfigDict(extra="forbid")
    # fields a config.yml must state, and why; code may build a config without them (backfill
    # does, for posts whose account has no config folder), a file may not: a default UTC would
    # shift every local time by hours without a word
    FILE_REQUIRES: ClassVar[dict[str, str]] = {
        "timezone": "the account's IANA timezone, e.g. America/New_York: timing is analysed in local time"}

    name: str = ""
    platform_profiles: dict[str, str] = Field(default_factory=dict)
    timezone: str = "UTC"
    content_pillars: dict[str, list[str]] = Field(default_factory=dict)
    formats: list[str] = Field(default_factory=lambda: list(DEFAULT_FORMATS))
    # the content generator's own settings, accepted as they are: a home for them that cannot
    # swallow a typo in the fields above (the file's size is capped by the reader)
    generator: dict[str, Any] = Field(default_factory=dict)

    @field_validator("platform_profiles")
    @classmethod
    def _known_platforms(cls, value: dict[str, str]) -> dict[str, str]:
        for platform, handle in value.items():
            if platform not in PLATFORMS:
                raise ValueError(f"unknown platform {shown(platform)} (expected {', '.join(PLATFORMS)})")
            if not isinstance(handle, str) or not handle.strip().lstrip("@"):
                raise ValueError(f"empty profile handle for {platform}")
            if len(handle) > MAX_HANDLE_CHARS:
                raise ValueError(f"the {platform} handle is longer than {MAX_HANDLE_CHARS} characters")
        return {p: h.strip().lstrip("@") for p, h in value.items()}

    @field_validator("timezone")
    @classmethod
    def _real_timezone(cls, value: str) -> str:
        # the list of IANA names, not ZoneInfo(value): that also opens folders ('America') and
        # files that are not zones, and raises OSError for them
        if value not in _timezones():
            raise ValueError(f"unknown IANA timezone {shown(value)}{did_you_mean(value, _timezones())}")
        return value

    @field_validator("formats")
    @classmethod
    def _format_names(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("no formats (leave the field out for the default ones)")
        if len(value) > MAX_FORMATS:
            raise ValueError(f"{len(value)} formats, more than the {MAX_FORMATS} the context can hold")
        for fmt in value:
            problem = _level_name_problem("format", fmt)
            if problem:
                raise ValueError(problem)
        if len(set(value)) != len(value):
            raise ValueError("a format is listed twice")
        return value

    @field_validator("content_pillars")
    @classmethod
    def _pillar_keywords(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(value) > MAX_PILLARS:
            raise ValueError(f"{len(value)} pillars, more than the {MAX_PILLARS} the context can hold")
        for pillar, keywords in value.items():
            problem = _level_name_problem("pillar", pillar)
            if problem:
                raise ValueError(problem)
            if not keywords:
                raise ValueError(f"pillar {pillar!r} has no keywords")
            if len(keywords) > MAX_KEYWORDS:
                raise ValueError(f"pillar {pillar!r} has more than {MAX_KEYWORDS} keywords")
            problem = next(filter(None, (_keyword_problem(pillar, k) for k in keywords)), None)
            if problem:
                raise ValueError(problem)
        return {p: [k.strip().lower() for k in kw] for p, kw in value.items()}

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# what a config.yml may hold: the model's fields, except the name, which is its folder's
FILE_FIELDS = tuple(field for field in AccountConfig.model_fields if field != "name")


def load_config(path: Path) -> AccountConfig:
    """Parse and validate one config.yml; raise ConfigError naming the file and field."""
    path = Path(path)
    data = read_yaml(path, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    problem = unknown_key_problem(data, FILE_FIELDS)
    if problem:
        raise ConfigError(f"{path}: {problem}")
    for field, why in AccountConfig.FILE_REQUIRES.items():
        if field not in data:
            raise ConfigError(f"{path}: {field}: required ({why})")
    return validate(AccountConfig, {**data, "name": path.parent.name}, path, ConfigError)


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
