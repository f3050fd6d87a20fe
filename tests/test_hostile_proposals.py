"""Hostile inputs to the steps that read configs, approved recommendations and contexts.

hypothesis writes a hostile variant of one file (huge integers, NaN and Infinity, deep nesting, wrong
types, blank and very long strings, impossible dates, unknown keys, non-UTF-8 bytes, links to
/dev/zero or nowhere) into a small workspace of three accounts, and the step that reads it must
give exactly one problem line naming that file, never a traceback, and process every other file
and account. Each variant is invalid by construction, so "no problem" is a failure too.

The examples run in process (load_accounts, apply_workspace, recommend_workspace, load_context);
a few explicit cases run `python -m scripts.apply` / `scripts.recommend` as make would, to prove the
same holds for the exit status and stderr of the real entry points.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import available_timezones

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.core.config import FILE_FIELDS, LEVEL_NAME, MAX_NAME_CHARS, AccountConfig, load_accounts
from scripts.core.workspace import Workspace
from scripts.generator_context import ContextError, load_context
from scripts.proposals.generator_context import CONTEXT_SCHEMA
from scripts.proposals.apply import apply_workspace
from scripts.proposals.recfiles import default_context, with_tests
from scripts.proposals.recommend import recommend_workspace
from tests.conftest import run_step
from tests.test_recommend import write_insights

ACCOUNTS = ("alpha", "bravo", "charlie")
VICTIM = "bravo"   # the account whose file is made hostile; alpha and charlie must go on
DAY = "2026-11-23"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
WEEK2 = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
CONFIG = {"platform_profiles": {"tiktok": "x", "instagram": "x"}, "timezone": "America/New_York",
          "content_pillars": {"sleep_routines": ["sleep", "bedtime"], "tantrum_management": ["tantrum"]},
          "formats": ["habit_list", "step_guide", "scripts", "boring_habits", "how_to"]}
# in-process examples cost from 1 ms (a config) to 0.3 s (apply and recommend on a workspace)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
STEPS = settings(FAST, max_examples=30)

# --- the workspace ---------------------------------------------------------------------------------------


GOOD_CONTEXT = default_context(AccountConfig(**CONFIG))


def approved_rec(account: str) -> dict:
    """A valid approved format_weight file for the account, as recommend would write it."""
    return {"id": f"{account}--{DAY}--format_weight", "account": account, "created_at": f"{DAY}T09:00:00Z",
            "category": "format_weight", "confidence": "high", "source": "rules",
            "insight": "step_guide posts get 2.1x the views.",
            "evidence": {"finding": "formats/tiktok/views_d7/step_guide-vs-rest", "n": 119, "effect": 2.1,
                         "ci": [1.7, 2.6]},
            "patch": with_tests(GOOD_CONTEXT, [{"op": "replace", "path": "/format_weights/step_guide", "value": 1.4}])}


def build_template(root: Path) -> None:
    ws = Workspace(root)
    for account in ACCOUNTS:
        ws.config_path(account).parent.mkdir(parents=True)
        ws.config_path(account).write_text(yaml.safe_dump(CONFIG))
    write_insights(ws)
    ws.rec_dir("approved").mkdir(parents=True)
    for account in ACCOUNTS:
        (ws.rec_dir("approved") / f"{account}--{DAY}--format_weight.json").write_text(json.dumps(approved_rec(account)))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "ws"
    build_template(root)
    return root


class fresh_workspace:
    """A private copy of the template for one example (hypothesis runs many per test function,
    so pytest's tmp_path cannot give each its own)."""

    def __init__(self, template: Path):
        self.template = template

    def __enter__(self) -> Workspace:
        self.dir = tempfile.mkdtemp(prefix="hostile-")
        shutil.copytree(self.template, Path(self.dir) / "ws", symlinks=True)
        return Workspace(Path(self.dir) / "ws")

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_claude(monkeypatch):
    # recommend asks Claude when a key is set: these tests use the rules and never the network
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")


# --- hostile values ----------------------------------------------------------------------------------------

HUGE = st.sampled_from([10**20, -(10**20), 2**63, 10**400])
NON_FINITE = st.sampled_from([float("nan"), float("inf"), float("-inf")])
LONG_TEXT = st.integers(min_value=1_001, max_value=300_000).map(lambda n: "x" * n)
BLANK = st.sampled_from(["", " ", "\t", "\n", " \u00a0 "])
IMPOSSIBLE_DATES = st.sampled_from(["2026-13-45", "2026-02-30", "0000-00-00", "2026-13-45T99:99:99Z"])


def nested(depth: int):
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


DEEP = st.integers(min_value=70, max_value=400).map(nested)
WRONG_TYPES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                        st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
ANY_HOSTILE = st.one_of(HUGE, NON_FINITE, LONG_TEXT, BLANK, IMPOSSIBLE_DATES, DEEP, WRONG_TYPES,
                        st.text(max_size=30))

# anything a format weight may not be (a number from 0.1 to 3.0)
BAD_WEIGHTS = st.one_of(HUGE, NON_FINITE, DEEP, WRONG_TYPES, st.floats(max_value=0.05), st.floats(min_value=3.01)).filter(
    lambda v: not isinstance(v, (int, float)) or isinstance(v, bool) or not 0.1 <= v <= 3.0)

# a file that is no regular UTF-8 text file, as (kind, payload): a link, a link loop, a folder, or
# bytes that are not UTF-8 or nest 100k deep (a fixed few, so hypothesis need not try many: PyYAML
# takes about a second to refuse deep nesting)
LINKS_AND_FOLDERS = st.one_of(st.tuples(st.just("link"), st.sampled_from(["/dev/zero", "/dev/null", "nowhere.json"])),
                              st.tuples(st.sampled_from(["loop", "folder"]), st.just("")))
SPECIAL_BYTES = st.tuples(st.just("bytes"), st.sampled_from([b"\xff\xfe\x00", b"\x80abc", "é".encode("latin-1") * 3,
                                                            b"[" * 100_000]))
SPECIAL_FILES = st.one_of(LINKS_AND_FOLDERS, SPECIAL_BYTES)


def place(path: Path, kind: str, payload) -> None:
    """Put a special file at path: a link, a link loop, a folder, or raw bytes."""
    path.unlink(missing_ok=True)
    if kind == "link":
        os.symlink(payload, path)
    elif kind == "loop":
        os.symlink(path.name, path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.write_bytes(payload)


# --- config.yml ----------------------------------------------------------------------------------------------

ZONES = available_timezones()
TIMEZONES = st.one_of(ANY_HOSTILE, st.text(max_size=40)).filter(lambda v: not isinstance(v, str) or v not in ZONES)
PILLAR_NAMES = st.text(max_size=80).filter(lambda n: not LEVEL_NAME.fullmatch(n) or len(n) > MAX_NAME_CHARS)


def config_variants():
    """Configs that no config.yml may be: a dict to write as YAML, or raw text."""
    unknown = st.tuples(st.text(min_size=1, max_size=40).filter(lambda k: k not in FILE_FIELDS), ANY_HOSTILE).map(
        lambda kv: {**CONFIG, kv[0]: kv[1]})
    no_timezone = st.just({k: v for k, v in CONFIG.items() if k != "timezone"})
    bad_timezone = TIMEZONES.map(lambda v: {**CONFIG, "timezone": v})
    blank_keyword = BLANK.map(lambda b: {**CONFIG, "content_pillars": {"sleep_routines": ["sleep", b]}})
    long_keyword = LONG_TEXT.map(lambda t: {**CONFIG, "content_pillars": {"sleep_routines": [t]}})
    bad_pillar = PILLAR_NAMES.map(lambda n: {**CONFIG, "content_pillars": {n: ["sleep"]}})
    many_pillars = st.integers(21, 200).map(lambda n: {**CONFIG, "content_pillars": {f"p{i}": ["k"] for i in range(n)}})
    bad_field = st.tuples(st.sampled_from(["platform_profiles", "content_pillars", "formats", "generator"]),
                          st.one_of(HUGE, NON_FINITE, LONG_TEXT, BLANK, DEEP, st.integers(), st.none())).map(
        lambda fv: {**CONFIG, fv[0]: fv[1]})
    bad_handle = st.one_of(BLANK, LONG_TEXT.map(lambda t: t[:101] + t)).map(
        lambda h: {**CONFIG, "platform_profiles": {"tiktok": h}})
    not_a_mapping = st.one_of(st.lists(st.integers(), max_size=3), st.text(max_size=20), st.integers(), st.none())
    raw_text = st.sampled_from(["timezone: [oops\n", "timezone: UTC\nformats: 2026-13-45\n", "{{{{\n",
                                "timezone: !!python/object:os.system x\n", "\t- x\n"])
    big = st.just("timezone: UTC\ngenerator: {v: " + "x" * (2**20) + "}\n")
    return st.one_of(unknown, no_timezone, bad_timezone, blank_keyword, long_keyword, bad_pillar, many_pillars,
                     bad_field, bad_handle, not_a_mapping.map(lambda v: yaml.safe_dump(v)), raw_text, big)


def write_config(ws: Workspace, variant) -> Path:
    path = ws.config_path(VICTIM)
    path.write_text(variant if isinstance(variant, str) else yaml.safe_dump(variant, allow_unicode=True),
                    encoding="utf-8")
    return path


def assert_one_config_line(ws: Workspace, path: Path) -> None:
    configs, errors = load_accounts(ws)
    assert sorted(configs) == ["alpha", "charlie"]
    assert len(errors) == 1 and errors[0].startswith(f"{path}: ") and "\n" not in errors[0], errors


@FAST
@given(variant=config_variants())
def test_a_hostile_config_is_one_line_and_only_its_account_is_skipped(template, variant):
    with fresh_workspace(template) as ws:
        assert_one_config_line(ws, write_config(ws, variant))


@FAST
@given(special=SPECIAL_FILES)
def test_a_config_that_is_no_regular_utf8_file_is_one_line(template, special):
    with fresh_workspace(template) as ws:
        place(ws.config_path(VICTIM), *special)
        assert_one_config_line(ws, ws.config_path(VICTIM))


# --- recommendations/approved/*.json -------------------------------------------------------------------------

def rec_variants():
    """(file name, content as a dict or bytes) of an approved file that apply must refuse."""
    good = approved_rec(VICTIM)
    name = f"{good['id']}.json"
    field = st.sampled_from(sorted(good))
    replaced = st.tuples(field, st.one_of(HUGE, NON_FINITE, LONG_TEXT, BLANK, IMPOSSIBLE_DATES, DEEP, WRONG_TYPES)).filter(
        lambda fv: not (fv[0] == "insight" and isinstance(fv[1], str) and 1 <= len(fv[1]) <= 1000)).map(
        lambda fv: {**good, fv[0]: fv[1]})  # any insight of 1-1000 characters is one
    unknown = st.text(min_size=1, max_size=30).filter(lambda k: k not in good).map(lambda k: {**good, k: 1})
    missing = field.map(lambda f: {k: v for k, v in good.items() if k != f})
    bad_value = BAD_WEIGHTS.map(lambda v: {**good, "patch": [good["patch"][0], {**good["patch"][1], "value": v}]})
    stale = st.floats(min_value=0.1, max_value=3.0).filter(lambda v: v != 1.0).map(
        lambda v: {**good, "patch": [{**good["patch"][0], "value": v}, good["patch"][1]]})
    outside = st.sampled_from(["/optimal_slide_count", "/top_pillars", "/sample_size", "/last_updated",
                               "/approved_recommendations", "/nowhere"]).map(
        lambda p: {**good, "patch": [{"op": "test", "path": p, "value": None},
                                     {"op": "replace", "path": p, "value": 7}]})
    untested = st.just({**good, "patch": [{"op": "test", "path": "/format_weights/habit_list", "value": 1.0},
                                          good["patch"][1]]})
    extra_member = st.just({**good, "patch": [good["patch"][0], {**good["patch"][1], "why": "x"}]})
    as_dict = st.one_of(replaced, unknown, missing, bad_value, stale, outside, untested, extra_member)
    bad_date = IMPOSSIBLE_DATES.filter(lambda d: "T" not in d).map(
        lambda d: (f"{VICTIM}--{d}--format_weight.json", {**good, "id": f"{VICTIM}--{d}--format_weight"}))
    raw = st.sampled_from([b"NaN", b"[]", b"null", b'{"id": ', b"\xff\xfe{}", b"{" * 100_000,
                           json.dumps(good).replace('"value": 1.4', '"value": 1e400').encode()])
    return st.one_of(as_dict.map(lambda d: (name, d)), bad_date, raw.map(lambda b: (name, b)))


def write_rec(ws: Workspace, name: str, content) -> Path:
    (ws.rec_dir("approved") / f"{VICTIM}--{DAY}--format_weight.json").unlink()
    path = ws.rec_dir("approved") / name
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return path


def assert_apply_refuses_only(ws: Workspace, path: Path) -> None:
    """Exactly one line naming the file, the file where it was, the victim's context unwritten
    and the other accounts' files applied."""
    problems = apply_workspace(ws, NOW)
    assert problems.exit_code() == 1
    assert len(problems.lines) == 1 and path.name in problems.lines[0] and "\n" not in problems.lines[0], \
        problems.lines
    assert path.exists() or path.is_symlink()
    assert not ws.context_path(VICTIM).exists()
    for account in ("alpha", "charlie"):
        assert (ws.rec_dir("applied") / f"{account}--{DAY}--format_weight.json").exists()
        assert load_context(ws.context_path(account))["format_weights"]["step_guide"] == 1.4


@STEPS
@given(variant=rec_variants())
def test_a_hostile_approved_file_is_one_line_and_the_others_apply(template, variant):
    with fresh_workspace(template) as ws:
        assert_apply_refuses_only(ws, write_rec(ws, *variant))


@FAST
@given(special=SPECIAL_FILES)
def test_an_approved_file_that_is_no_regular_utf8_file_is_one_line(template, special):
    with fresh_workspace(template) as ws:
        path = ws.rec_dir("approved") / f"{VICTIM}--{DAY}--format_weight.json"
        place(path, *special)
        assert_apply_refuses_only(ws, path)


# --- accounts/<name>/performance_context.json ---------------------------------------------------------------

def context_variants():
    """The content of a performance_context.json that no reader may build on, as bytes."""
    good = GOOD_CONTEXT
    field = st.sampled_from(sorted(good))
    # none of these fits any field: a string never matches last_updated's date pattern, a mapping's
    # weights are above 3.0, and the one field a huge positive integer fits (sample_size) is left out
    wrong = st.one_of(HUGE, LONG_TEXT, DEEP, st.integers(min_value=-5, max_value=-1),
                      st.text(max_size=10).map(lambda t: "x" + t),
                      st.dictionaries(st.text(max_size=5), st.integers(min_value=4), min_size=1, max_size=3))
    replaced = st.tuples(field, wrong).filter(lambda fv: not (fv[0] == "sample_size" and isinstance(fv[1], int)
                                                              and fv[1] >= 0)).map(
        lambda fv: {**good, fv[0]: fv[1]})
    weight = BAD_WEIGHTS.map(
        lambda v: {**good, "format_weights": {**good["format_weights"], "step_guide": v}})
    required = st.sampled_from(sorted(CONTEXT_SCHEMA["required"]))   # an optional field may be left out
    missing = required.map(lambda f: {k: v for k, v in good.items() if k != f})
    unknown = st.text(min_size=1, max_size=30).filter(lambda k: k not in good).map(lambda k: {**good, k: 1})
    bad_name = st.one_of(BLANK, st.just("Not A Name"), LONG_TEXT).map(lambda n: {**good, "top_pillars": [n]})
    bad_day = IMPOSSIBLE_DATES.map(lambda d: {**good, "last_updated": d + "x"})
    as_json = st.one_of(replaced, weight, missing, unknown, bad_name, bad_day).map(
        lambda d: json.dumps(d, allow_nan=True).encode())
    raw = st.sampled_from([b"[]", b"null", b'"x"', b"7", b"true", b"NaN", b"", b"{", b"\xff\xfe{}",
                           b"[" * 100_000 + b"]" * 100_000])
    return st.one_of(as_json, raw)


def assert_context_refused_once(problems, path: Path) -> None:
    assert problems.exit_code() == 1
    assert len(problems.lines) == 1 and str(path) in problems.lines[0] and "\n" not in problems.lines[0], \
        problems.lines


def assert_hostile_context_is_one_line_everywhere(ws: Workspace) -> None:
    path = ws.context_path(VICTIM)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(ContextError, match=f"^{path}: "):
        load_context(ws.accounts_dir / VICTIM)  # the generator's call: the account folder
    assert_context_refused_once(apply_workspace(ws, NOW), path)
    assert (ws.rec_dir("approved") / f"{VICTIM}--{DAY}--format_weight.json").exists()
    assert (path.read_bytes() if path.is_file() else None) == before
    assert_context_refused_once(recommend_workspace(ws, WEEK2), path)
    proposed = {p.name.split("--")[0] for p in ws.rec_dir("pending").glob("*.json")}
    assert proposed == {"alpha", "charlie"}


@STEPS
@given(content=context_variants())
def test_a_hostile_context_is_one_line_in_apply_recommend_and_the_generator(template, content):
    with fresh_workspace(template) as ws:
        ws.context_path(VICTIM).write_bytes(content)
        assert_hostile_context_is_one_line_everywhere(ws)


@FAST
@given(special=LINKS_AND_FOLDERS)
def test_a_context_that_is_a_link_or_a_folder_is_one_line(template, special):
    with fresh_workspace(template) as ws:
        place(ws.context_path(VICTIM), *special)
        assert_hostile_context_is_one_line_everywhere(ws)


# --- the real entry points, as make runs them ---------------------------------------------------------------

def step_errors(result, step: str) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith(f"{step}: error:")]


@pytest.mark.parametrize("content", [b"{" * 100_000, b"\xff\xfe",
                                     json.dumps({**approved_rec(VICTIM), "created_at": "2026-13-45T99:99:99Z"}).encode()])
def test_python_m_scripts_apply_refuses_a_hostile_approved_file(template, tmp_path, content):
    shutil.copytree(template, tmp_path / "ws")
    ws = Workspace(tmp_path / "ws")
    path = write_rec(ws, f"{VICTIM}--{DAY}--format_weight.json", content)
    result = run_step("apply", ws.root, "--now", "2026-11-24T10:00:00Z", check=False)
    assert result.returncode == 1
    [line] = step_errors(result, "apply")
    assert path.name in line and path.exists()
    assert sorted(p.name.split("--")[0] for p in ws.rec_dir("applied").glob("*.json")) == ["alpha", "charlie"]


@pytest.mark.parametrize("content", [b"[]", b"1e400"])
def test_python_m_scripts_recommend_and_apply_refuse_a_hostile_context(template, tmp_path, content):
    shutil.copytree(template, tmp_path / "ws")
    ws = Workspace(tmp_path / "ws")
    ws.context_path(VICTIM).write_bytes(content)
    env = {"ANTHROPIC_API_KEY": ""}
    applied = run_step("apply", ws.root, "--now", "2026-11-24T10:00:00Z", check=False, env=env)
    assert applied.returncode == 1
    [line] = step_errors(applied, "apply")
    assert f"accounts/{VICTIM}/performance_context.json" in line
    proposed = run_step("recommend", ws.root, "--now", "2026-11-30T09:00:00Z", check=False, env=env)
    assert proposed.returncode == 1
    [line] = step_errors(proposed, "recommend")
    assert f"accounts/{VICTIM}/performance_context.json" in line
    assert "recommend: alpha: " in proposed.stdout and "recommend: charlie: " in proposed.stdout


def test_python_m_scripts_apply_names_a_hostile_config_in_one_line(template, tmp_path):
    shutil.copytree(template, tmp_path / "ws")
    ws = Workspace(tmp_path / "ws")
    ws.config_path(VICTIM).write_text("timezon: America/New_York\n")
    result = run_step("apply", ws.root, "--now", "2026-11-24T10:00:00Z", check=False)
    assert result.returncode == 1
    [line] = step_errors(result, "apply")   # the config's line; its account's files wait without another
    assert line.endswith("accounts/bravo/config.yml: timezon: unknown field (did you mean 'timezone'?)")
    assert sorted(p.name.split("--")[0] for p in ws.rec_dir("applied").glob("*.json")) == ["alpha", "charlie"]
