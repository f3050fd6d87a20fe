"""Secrets (APIFY_TOKEN, ANTHROPIC_API_KEY): read from the environment or a .env file, never
written anywhere and never put into os.environ, so no child process or log inherits them."""
from __future__ import annotations

import os

from dotenv import dotenv_values

from scripts.core.workspace import PROJECT_DIR, Workspace


def read_secret(name: str, ws: Workspace) -> str | None:
    """The environment first (set but empty means 'none', as python-dotenv treats it), then
    <ROOT>/.env, then the repository's .env."""
    value = os.environ.get(name)
    for env_file in (ws.root / ".env", PROJECT_DIR / ".env"):
        if value is not None:
            break
        if env_file.is_file():
            value = dotenv_values(env_file).get(name)
    return value.strip() if value and value.strip() else None
