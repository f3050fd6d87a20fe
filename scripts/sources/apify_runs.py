"""The Apify side of `make scrape`: settings (scrape.yml), the token, and one actor run per job.

Facts about apify-client 3.x are from ../shared/research/apify.md: the client reads no environment
variable for the token or the API URL (we pass both), `call()` returns a FAILED / TIMED-OUT /
ABORTED run instead of raising, and `logger=None` skips the log streaming and its 6 s sleep.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from apify_client import ApifyClient
from apify_client.errors import ApifyApiError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from scripts.core.progress import progress
from scripts.core.credentials import read_secret
from scripts.core.textsafety import scrub
from scripts.core.workspace import PLATFORMS, PROJECT_DIR, Workspace
from scripts.core.yamlfile import YamlFileError, read_yaml, validate

SETTINGS_NAME = "scrape.yml"
DEFAULT_API_URL = "https://api.apify.com"
TOKEN_VAR = "APIFY_TOKEN"
API_URL_VAR = "APIFY_API_BASE_URL"
NO_TOKEN = (f"no Apify token: set {TOKEN_VAR} in the environment or in a .env file "
            f"({TOKEN_VAR}=apify_api_...) in the workspace root or the repository; or, without a "
            "token, drop exported envelopes into data/raw/<platform>/<account>/ and run `make backfill`")


# --- settings -------------------------------------------------------------------------------
ROLES = ("posts", "reels", "profile")  # the runs a platform may have, in envelope order


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not a silent default


class ClientSettings(_Strict):
    max_retries: int = Field(4, ge=0, le=10)
    min_delay_between_retries_ms: int = Field(500, ge=0)


class RunSettings(_Strict):
    timeout_minutes: float = Field(30, gt=0)
    wait_minutes: float = Field(35, gt=0)
    memory_mbytes: int = Field(1024, ge=128, le=32768)


class ActorSettings(_Strict):
    actor: str = Field(min_length=3)
    handles_field: str = Field(min_length=1)
    handle_template: str = "{handle}"
    owner_field: str = Field(min_length=1)
    max_items_per_profile: int = Field(gt=0)
    max_charge_usd_per_profile: Decimal = Field(gt=0)
    input: dict = Field(default_factory=dict)

    @field_validator("handle_template")
    @classmethod
    def _has_handle(cls, value: str) -> str:
        try:
            example = value.format(handle="HANDLE")
        except (KeyError, IndexError, ValueError):
            example = ""
        if "HANDLE" not in example:
            raise ValueError("must contain {handle} and no other {field}")
        return value


class PlatformSettings(_Strict):
    posts: ActorSettings
    reels: ActorSettings | None = None    # a reel run for views (Instagram): the post scraper has none
    profile: ActorSettings | None = None  # a separate profile run (Instagram); TikTok items carry it

    def runs(self) -> list[tuple[str, ActorSettings]]:
        """(role, settings) of every configured run, posts first: the order items reach an envelope."""
        return [(role, settings) for role in ROLES if (settings := getattr(self, role)) is not None]


class ScrapeSettings(_Strict):
    client: ClientSettings = Field(default_factory=ClientSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    platforms: dict[str, PlatformSettings]

    @field_validator("platforms")
    @classmethod
    def _known_platforms(cls, value: dict) -> dict:
        unknown = sorted(set(value) - set(PLATFORMS))
        if unknown:
            raise ValueError(f"unknown platform {unknown[0]!r} (expected {', '.join(PLATFORMS)})")
        return value


class SettingsError(YamlFileError):
    """One line: '<file>: <field>: <problem>'."""


def settings_path(ws: Workspace) -> Path:
    """The workspace's own scrape.yml if it has one, else the repository's."""
    own = ws.root / SETTINGS_NAME
    return own if own.is_file() else PROJECT_DIR / SETTINGS_NAME


def load_settings(path: Path) -> ScrapeSettings:
    data = read_yaml(path, SettingsError)
    return validate(ScrapeSettings, data if data is not None else {}, path, SettingsError)


@dataclass(frozen=True)
class Connection:
    """Where and as whom to call the API. The token is kept out of repr() and every message."""
    token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL

    def scrub(self, text: str) -> str:
        text = scrub(text, self.token)
        return re.sub(r"(token=)[^&\s'\"]+", r"\1***", text)  # a URL with ?token=, whoever's


def connect(ws: Workspace) -> Connection | None:
    token = read_secret(TOKEN_VAR, ws)
    if token is None:
        return None
    return Connection(token, read_secret(API_URL_VAR, ws) or DEFAULT_API_URL)


# --- one actor run per job ------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    platform: str
    role: str                 # one of ROLES
    settings: ActorSettings
    handles: tuple[str, ...]  # every account's profile on this platform: one run covers them all

    def run_input(self) -> dict:
        handles = [self.settings.handle_template.format(handle=h) for h in self.handles]
        return {**self.settings.input, self.settings.handles_field: handles}


@dataclass
class JobResult:
    job: Job
    run_id: str | None = None
    dataset_id: str | None = None
    status: str | None = None
    usage_total_usd: float | None = None
    charged_events: dict | None = None
    items: list = field(default_factory=list)  # verbatim; an item that is no object is kept to report
    error: str | None = None  # one line, token scrubbed; set when the items must not be used

    def source(self) -> dict:
        return {"actor": self.job.settings.actor, "run_id": self.run_id, "dataset_id": self.dataset_id,
                "status": self.status, "item_count": len(self.items),
                "usage_total_usd": self.usage_total_usd, "charged_events": self.charged_events}


def make_client(conn: Connection, settings: ClientSettings) -> ApifyClient:
    return ApifyClient(conn.token, api_url=conn.api_url, api_public_url=conn.api_url,
                       max_retries=settings.max_retries,
                       min_delay_between_retries=timedelta(milliseconds=settings.min_delay_between_retries_ms))


def call_actor(job: Job, conn: Connection, settings: ScrapeSettings) -> JobResult:
    """Start the run, wait for it, read its dataset. Never raises: failures become result.error."""
    result = JobResult(job)
    actor = job.settings.actor
    try:
        client = make_client(conn, settings.client)
        count = len(job.handles)
        run = client.actor(actor).call(
            run_input=job.run_input(),
            run_timeout=timedelta(minutes=settings.run.timeout_minutes),
            memory_mbytes=settings.run.memory_mbytes,
            max_items=job.settings.max_items_per_profile * count,
            max_total_charge_usd=job.settings.max_charge_usd_per_profile * count,
            wait_duration=timedelta(minutes=settings.run.wait_minutes),
            logger=None)
        if run is None:
            result.error = f"{actor}: the run disappeared while we waited for it (API answered 404)"
            return result
        result.run_id, result.dataset_id, result.status = run.id, run.default_dataset_id, str(run.status)
        result.usage_total_usd, result.charged_events = run.usage_total_usd, run.charged_event_counts
        if result.status != "SUCCEEDED":
            result.error = _unfinished(actor, run, settings.run.wait_minutes)
            return result
        result.items = list(client.dataset(run.default_dataset_id).iterate_items())
    except ApifyApiError as exc:
        result.error = (f"{actor}: HTTP {exc.status_code} from the Apify API after {exc.attempt} attempt(s)"
                        f" ({exc.type or 'no error type'}: {_first_line(exc.message)})")
    except Exception as exc:  # network, invalid response: one line for this platform, others go on
        result.error = f"{actor}: {type(exc).__name__}: {_first_line(str(exc))}"
    if result.error:
        result.error = conn.scrub(result.error)
        result.items = []
    return result


def _unfinished(actor: str, run, wait_minutes: float) -> str:
    status = str(run.status)
    message = f" ({_first_line(run.status_message)})" if run.status_message else ""
    if status in ("READY", "RUNNING"):
        return (f"{actor}: run {run.id} still {status} after waiting {wait_minutes:g} min{message}; "
                "its items were not read")
    return f"{actor}: run {run.id} ended {status}{message}"


def _first_line(text: str | None, limit: int = 240) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line[:limit] + ("…" if len(line) > limit else "")


def run_jobs(jobs: list[Job], conn: Connection, settings: ScrapeSettings) -> dict[tuple[str, str], JobResult]:
    """Every job at once (threads; each waits on the network): the platforms run in parallel."""
    if not jobs:
        return {}
    results = []
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool, \
            progress(len(jobs), "scrape: waiting for the Apify runs, finished") as bar:
        for future in as_completed([pool.submit(call_actor, job, conn, settings) for job in jobs]):
            results.append(future.result())
            bar.advance()
    order = {(job.platform, job.role): i for i, job in enumerate(jobs)}
    return {(r.job.platform, r.job.role): r for r in sorted(results, key=lambda r: order[(r.job.platform, r.job.role)])}
