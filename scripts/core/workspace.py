"""The workspace layout: the one place that knows where every artifact lives (SPEC)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PLATFORMS = ("tiktok", "instagram")
ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
REC_STATES = ("pending", "approved", "applied", "rejected")
# the repository's own sql/ and schemas/ serve every workspace
PROJECT_DIR = Path(__file__).resolve().parents[2]
SQL_DIR = PROJECT_DIR / "sql"
SCHEMA_DIR = PROJECT_DIR / "schemas"


class WorkspaceError(ValueError):
    """An input that breaks the workspace contract; the message names the file."""


# A raw envelope is <stamp>.json, or the same gzipped, <stamp>.json.gz (what scrape and import
# write, and make compress-raw converts to): one envelope, whichever way it is stored.
RAW_SUFFIX, COMPRESSED_SUFFIX = ".json", ".json.gz"


def raw_stamp(path: Path) -> str:
    """The stamp of a raw envelope's file name: 20261120T080004Z of ….json and of ….json.gz."""
    name = path.name
    for suffix in (COMPRESSED_SUFFIX, RAW_SUFFIX):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return path.stem


def envelope_path(path: Path) -> Path:
    """The envelope a raw file holds, named as plain <stamp>.json whether it is stored compressed or
    not: the one name load records it under (raw_files.path), so a file compressed later is the
    same envelope."""
    return path.with_name(raw_stamp(path) + RAW_SUFFIX)


ALL = "all"  # reserved: all.json, all.html and cross-account proposals, never an account


def account_name_problem(name, allow_all: bool = False) -> str | None:
    """Why `name` is not an account name, or None if it is: the one rule (SPEC), so no name can
    reach outside its folder (`..`) or take the place of the cross-account files (`all`)."""
    if not isinstance(name, str) or not ACCOUNT_NAME.match(name) or ".." in name:
        return f"invalid account name {name!r} (must match {ACCOUNT_NAME.pattern}, without '..')"
    if name == ALL and not allow_all:
        return f"invalid account name {name!r} (reserved for the cross-account files)"
    return None


def is_account_name(name, allow_all: bool = False) -> bool:
    return account_name_problem(name, allow_all) is None


def check_account_name(name: str, where: str = "", allow_all: bool = False) -> str:
    problem = account_name_problem(name, allow_all)
    if problem:
        raise WorkspaceError(f"{where}{problem}")
    return name


def check_platform(platform: str, where: str = "") -> str:
    if platform not in PLATFORMS:
        raise WorkspaceError(f"{where}unknown platform {platform!r} (expected one of {', '.join(PLATFORMS)})")
    return platform


@dataclass(frozen=True)
class Workspace:
    root: Path

    def __init__(self, root: str | Path = "."):
        object.__setattr__(self, "root", Path(root))

    # accounts/
    @property
    def accounts_dir(self) -> Path:
        return self.root / "accounts"

    def account_dir(self, account: str) -> Path:
        return self.accounts_dir / check_account_name(account)

    def config_path(self, account: str) -> Path:
        return self.account_dir(account) / "config.yml"

    def output_dir(self, account: str) -> Path:
        return self.account_dir(account) / "output"

    def context_path(self, account: str) -> Path:
        return self.account_dir(account) / "performance_context.json"

    def account_folders(self) -> list[str]:
        """Every folder under accounts/ that holds a config.yml, whatever its name or kind, sorted:
        the steps report a folder whose name breaks the rule, or whose config.yml is no regular
        file (a dangling link, a link to a device), instead of skipping it silently."""
        if not self.accounts_dir.is_dir():
            return []
        return sorted(p.name for p in self.accounts_dir.iterdir()
                      if (p / "config.yml").exists() or (p / "config.yml").is_symlink())

    def account_names(self) -> list[str]:
        """The account folders whose names follow the rule, sorted."""
        return [name for name in self.account_folders() if is_account_name(name)]

    # data/
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def rejected_dir(self) -> Path:
        return self.raw_dir / "_rejected"

    def raw_path(self, platform: str, account: str, stamp: str) -> Path:
        """The envelope's name, <stamp>.json (envelope_path); a file of it may be stored gzipped."""
        return self.raw_dir / check_platform(platform) / check_account_name(account) / f"{stamp}{RAW_SUFFIX}"

    def compressed_raw_path(self, platform: str, account: str, stamp: str) -> Path:
        """Where scrape and import write an envelope: <stamp>.json.gz."""
        return self.raw_dir / check_platform(platform) / check_account_name(account) / f"{stamp}{COMPRESSED_SUFFIX}"

    def has_raw_files(self) -> bool:
        return any(next((self.raw_dir / platform).glob(f"*/*{suffix}"), None)
                   for platform in PLATFORMS for suffix in (RAW_SUFFIX, COMPRESSED_SUFFIX))

    def raw_files(self) -> list[Path]:
        """Every envelope in the SPEC layout data/raw/<platform>/<account>/<stamp>.json or
        <stamp>.json.gz, oldest first. One file per envelope: where one stamp has both (a
        compress-raw that was stopped between writing the .json.gz and removing the .json, which
        it finishes on its next run), the plain .json is the one read."""
        files: dict[Path, Path] = {}
        for platform in PLATFORMS:
            for suffix in (COMPRESSED_SUFFIX, RAW_SUFFIX):  # the plain file, read last, wins
                for path in (self.raw_dir / platform).glob(f"*/*{suffix}"):
                    files[envelope_path(path)] = path
        return sorted(files.values(), key=lambda p: (raw_stamp(p), p.parent.parent.name, p.parent.name))

    @property
    def db_path(self) -> Path:
        return self.data_dir / "analytics.db"

    @property
    def insights_dir(self) -> Path:
        return self.data_dir / "insights"

    def insights_path(self, account: str) -> Path:
        return self.insights_dir / f"{check_account_name(account)}.json"

    @property
    def all_insights_path(self) -> Path:
        return self.insights_dir / "all.json"

    def history_path(self, account: str) -> Path:
        """Earlier runs' findings of one account, kept by the dashboard step for "what changed"."""
        return self.insights_dir / "history" / f"{check_account_name(account)}.json"

    @property
    def dashboard_dir(self) -> Path:
        return self.data_dir / "dashboard"

    @property
    def pooled_priors_path(self) -> Path:
        """The cross-account side of analyze's pooling, kept while it still holds (docs/analyze.md,
        "The kept prior"): state, not cache; deleting it pools afresh."""
        return self.data_dir / "pooled_priors.json"

    # data/cache/: only ever saves time; deleting it changes no result
    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def analyze_cache_dir(self) -> Path:
        return self.cache_dir / "analyze"

    def analyze_cache_path(self, account: str) -> Path:
        """An account's phase one of analyze (read and modelled), keyed by its inputs' fingerprint."""
        return self.analyze_cache_dir / f"{check_account_name(account)}.pkl"

    def picks_cache_path(self, account: str) -> Path:
        """The randomised format picks read from an account's generator folders, by file size and time."""
        return self.analyze_cache_dir / f"{check_account_name(account)}.picks"

    def findings_cache_path(self, account: str) -> Path:
        """An account's phase two of analyze (its findings), keyed by its phase one and the priors."""
        return self.analyze_cache_dir / f"{check_account_name(account)}.findings"

    @property
    def dashboard_manifest_path(self) -> Path:
        """What each dashboard page was built from (fingerprints), so an unchanged page is kept."""
        return self.cache_dir / "dashboard" / "manifest.json"

    @property
    def digest_path(self) -> Path:
        return self.data_dir / "digest.md"

    @property
    def problems_path(self) -> Path:
        return self.data_dir / "problems.json"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / ".pipeline.lock"

    # recommendations/
    @property
    def recommendations_dir(self) -> Path:
        return self.root / "recommendations"

    def rec_dir(self, state: str) -> Path:
        if state not in REC_STATES:
            raise WorkspaceError(f"unknown recommendation state {state!r}")
        return self.recommendations_dir / state
