"""Account configs: a bad one names its file and field and stops only that account, and nothing a
config holds can change what is analysed without a word (typos, a missing timezone, a blank
keyword, a value of any size)."""
import os

import pytest
import yaml

from scripts.core.config import (MAX_KEYWORD_CHARS, MAX_KEYWORDS, MAX_PILLARS, AccountConfig, ConfigError,
                                 load_accounts, load_config)
from scripts.core.workspace import Workspace
from scripts.core.yamlfile import MAX_YAML_BYTES

GOOD = """platform_profiles: {tiktok: "@MyMomSkills ", instagram: mymomskills}
timezone: America/New_York
content_pillars:
  sleep_routines: [Sleep, bedtime]
formats: [habit_list, step_guide]
"""
TZ = "timezone: America/New_York\n"


def write(ws, name, text):
    path = ws.config_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def refusal(tmp_path, text) -> str:
    """The one error line load_config gives for this config.yml."""
    path = write(Workspace(tmp_path), "broken", text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    line = str(error.value)
    assert line.startswith(f"{path}: ") and "\n" not in line
    return line.removeprefix(f"{path}: ")


def test_good_config(tmp_path):
    config = load_config(write(Workspace(tmp_path), "mymomskills", GOOD))
    assert config.name == "mymomskills"
    assert config.platform_profiles == {"tiktok": "MyMomSkills", "instagram": "mymomskills"}
    assert config.content_pillars == {"sleep_routines": ["sleep", "bedtime"]}
    assert config.tz.key == "America/New_York"


def test_defaults_for_optional_fields(tmp_path):
    config = load_config(write(Workspace(tmp_path), "small", "platform_profiles: {tiktok: small}\n" + TZ))
    assert config.formats == ["habit_list", "step_guide", "scripts", "boring_habits", "how_to"]
    assert config.content_pillars == {} and config.generator == {}


@pytest.mark.parametrize("text, message", [
    ("timezone: [oops\n", "line 2: invalid YAML (expected ',' or ']'"),
    ("- just\n- a list\n", "expected a mapping of fields, got list"),
    ("timezone: Mars/Olympus\n", "timezone: Value error, unknown IANA timezone 'Mars/Olympus'"),
    (TZ + "platform_profiles: {youtube: me}\n", "platform_profiles: Value error, unknown platform 'youtube'"),
    (TZ + "platform_profiles: {tiktok: ''}\n", "platform_profiles: Value error, empty profile handle for tiktok"),
    (TZ + "content_pillars: {sleep: []}\n", "content_pillars: Value error, pillar 'sleep' has no keywords"),
    (TZ + "content_pillars: {'Bad Pillar': [x]}\n", "content_pillars: Value error, pillar name 'Bad Pillar'"),
    (TZ + "formats: habit_list\n", "formats: Input should be a valid list"),
    (TZ + "formats: []\n", "formats: Value error, no formats"),
    (TZ + "formats: [how_to, how_to]\n", "formats: Value error, a format is listed twice"),
    (TZ + "generator: [not, a, mapping]\n", "generator: Input should be a valid dictionary"),
    # a folder of the zone database, and a file in it that is no zone: refused, never an OSError
    ("timezone: America\n", "timezone: Value error, unknown IANA timezone 'America'"),
    ("timezone: zone.tab\n", "timezone: Value error, unknown IANA timezone 'zone.tab'"),
    ("timezone: 2026-13-45\n", "invalid YAML (ValueError: month must be in 1..12)"),
    ("timezone: 100000000000000000000\n", "timezone: Input should be a valid string"),
    ("timezone: .nan\n", "timezone: Input should be a valid string"),
])
def test_errors_name_file_and_field(tmp_path, text, message):
    assert message in refusal(tmp_path, text)


def test_missing_timezone_is_an_error_not_utc(tmp_path):
    # UTC would shift published_local by 4-5 hours for a New York account, and every timing finding with it
    assert refusal(tmp_path, "platform_profiles: {tiktok: small}\n") == (
        "timezone: required (the account's IANA timezone, e.g. America/New_York: timing is analysed in local time)")


def test_a_misspelt_timezone_gets_a_did_you_mean(tmp_path):
    assert refusal(tmp_path, "timezone: America/New_Yrok\n") == (
        "timezone: Value error, unknown IANA timezone 'America/New_Yrok' (did you mean 'America/New_York'?)")


@pytest.mark.parametrize("keyword", ["", " ", "\t"])
def test_blank_pillar_keyword_is_refused(tmp_path, keyword):
    # a blank keyword matches every post, so the pillar would take them all
    text = TZ + yaml.safe_dump({"content_pillars": {"sleep_routines": ["sleep", keyword]}})
    assert refusal(tmp_path, text) == "content_pillars: Value error, pillar 'sleep_routines' has a blank keyword"


@pytest.mark.parametrize("typo, hint", [
    ("timezon: America/New_York\n", "timezon: unknown field (did you mean 'timezone'?)"),
    (TZ + "content_pilars: {sleep_routines: [sleep]}\n", "content_pilars: unknown field (did you mean 'content_pillars'?)"),
    (TZ + "platform_profile: {tiktok: me}\n", "platform_profile: unknown field (did you mean 'platform_profiles'?)"),
    (TZ + "hashtags: [sleep]\n", ("hashtags: unknown field (the fields are platform_profiles, timezone, "
                                  "content_pillars, formats, generator)")),
    # the account's name is its folder's: a name in the file could only disagree with it
    (TZ + "name: someone_else\n", "name: unknown field"),
])
def test_unknown_config_keys_such_as_timezon_and_content_pilars(tmp_path, typo, hint):
    assert refusal(tmp_path, typo).startswith(hint)


def test_the_generators_own_settings_live_under_generator(tmp_path):
    text = GOOD + "generator:\n  brand_voice: warm\n  slides: {min: 5, max: 9}\n  emoji: [🌙]\n"
    config = load_config(write(Workspace(tmp_path), "mymomskills", text))
    assert config.generator == {"brand_voice": "warm", "slides": {"min": 5, "max": 9}, "emoji": ["🌙"]}
    # but a generator setting at the top level is a typo like any other
    assert refusal(tmp_path, GOOD + "brand_voice: warm\n").startswith("brand_voice: unknown field")


def test_a_20_mb_value_in_a_config(tmp_path):
    # the file is refused by its size, before a byte of it is parsed
    text = GOOD + "generator: {hook_text: " + "x" * (20 * 2**20) + "}\n"
    assert refusal(tmp_path, text) == f"larger than {MAX_YAML_BYTES // 2**20} MiB"


@pytest.mark.parametrize("text, message", [
    # under the file cap, each value still has its own
    (TZ + f"content_pillars: {{sleep_routines: [{'z' * 500_000}]}}\n",
     f"pillar 'sleep_routines' has a keyword longer than {MAX_KEYWORD_CHARS} characters"),
    (TZ + yaml.safe_dump({"content_pillars": {"sleep_routines": [f"k{i}" for i in range(MAX_KEYWORDS + 1)]}}),
     f"pillar 'sleep_routines' has more than {MAX_KEYWORDS} keywords"),
    (TZ + yaml.safe_dump({"content_pillars": {f"p{i}": ["k"] for i in range(MAX_PILLARS + 1)}}),
     f"{MAX_PILLARS + 1} pillars, more than the {MAX_PILLARS} the context can hold"),
    (TZ + f"content_pillars: {{{'p' * 65}: [sleep]}}\n", "is longer than 64 characters"),
    (TZ + f"platform_profiles: {{tiktok: {'h' * 101}}}\n", "the tiktok handle is longer than 100 characters"),
    (f"timezone: {'Z' * 5000}\n", "unknown IANA timezone 'ZZZZZ"),
])
def test_sizes_are_capped(tmp_path, text, message):
    line = refusal(tmp_path, text)
    assert message in line and len(line) < 400


def test_a_config_that_is_not_a_regular_utf8_file(tmp_path):
    ws = Workspace(tmp_path)
    assert refusal(tmp_path, b"timezone: \xff\xfe UTC\n") == "not UTF-8 text"
    path = ws.config_path("broken")
    path.unlink()
    os.symlink("/dev/zero", path)
    assert refusal_of(path) == "not a regular file"
    path.unlink()
    os.symlink(tmp_path / "nowhere.yml", path)
    assert refusal_of(path).startswith("cannot read (")


def refusal_of(path) -> str:
    with pytest.raises(ConfigError) as error:
        load_config(path)
    return str(error.value).removeprefix(f"{path}: ")


def test_a_config_built_in_code_still_defaults_the_timezone():
    # backfill classifies posts of an account without any config folder: UTC is all it can know
    assert AccountConfig(name="orphan").timezone == "UTC"
    with pytest.raises(ValueError):
        AccountConfig(timezon="UTC")  # code cannot smuggle a typo in either


def test_one_bad_account_does_not_stop_the_others(tmp_path):
    ws = Workspace(tmp_path)
    write(ws, "good", GOOD)
    write(ws, "bad", "timezone: Nowhere/Land\n")
    (tmp_path / "accounts" / "Not Valid").mkdir()
    (tmp_path / "accounts" / "Not Valid" / "config.yml").write_text(GOOD)
    configs, errors = load_accounts(ws)
    assert list(configs) == ["good"]
    # a folder whose name breaks the account rule is reported too, never silently left out
    assert len(errors) == 2 and "accounts/bad/config.yml: timezone" in errors[1]
    assert "accounts/Not Valid/config.yml: invalid account name 'Not Valid'" in errors[0]


def test_repository_example_configs_are_valid():
    configs, errors = load_accounts(Workspace(Workspace().root.resolve()))
    assert errors == []
    assert sorted(configs) == ["dreamtimelullabies", "mymomskills", "parentplaybook", "slumbersongs"]
