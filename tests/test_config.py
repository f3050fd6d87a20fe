"""Account configs: a bad one names its file and field and stops only that account."""
import pytest

from scripts.core.config import ConfigError, load_accounts, load_config
from scripts.core.workspace import Workspace

GOOD = """platform_profiles: {tiktok: "@MyMomSkills ", instagram: mymomskills}
timezone: America/New_York
content_pillars:
  sleep_routines: [Sleep, bedtime]
formats: [habit_list, step_guide]
"""


def write(ws, name, text):
    path = ws.config_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_good_config(tmp_path):
    config = load_config(write(Workspace(tmp_path), "mymomskills", GOOD))
    assert config.name == "mymomskills"
    assert config.platform_profiles == {"tiktok": "MyMomSkills", "instagram": "mymomskills"}
    assert config.content_pillars == {"sleep_routines": ["sleep", "bedtime"]}
    assert config.tz.key == "America/New_York"


def test_defaults_for_optional_fields(tmp_path):
    config = load_config(write(Workspace(tmp_path), "small", "platform_profiles: {tiktok: small}\n"))
    assert config.timezone == "UTC"
    assert config.formats == ["habit_list", "step_guide", "scripts", "boring_habits", "how_to"]


@pytest.mark.parametrize("text, message", [
    ("timezone: [oops\n", "line 2: invalid YAML (expected ',' or ']'"),
    ("- just\n- a list\n", "expected a mapping of fields, got list"),
    ("timezone: Mars/Olympus\n", "timezone: Value error, unknown IANA timezone 'Mars/Olympus'"),
    ("platform_profiles: {youtube: me}\n", "platform_profiles: Value error, unknown platform 'youtube'"),
    ("platform_profiles: {tiktok: ''}\n", "platform_profiles: Value error, empty profile handle for tiktok"),
    ("content_pillars: {sleep: []}\n", "content_pillars: Value error, pillar 'sleep' has no keywords"),
    ("content_pillars: {'Bad Pillar': [x]}\n", "content_pillars: Value error, pillar name 'Bad Pillar'"),
    ("formats: habit_list\n", "formats: Input should be a valid list"),
])
def test_errors_name_file_and_field(tmp_path, text, message):
    path = write(Workspace(tmp_path), "broken", text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    line = str(error.value)
    assert line.startswith(f"{path}: ")
    assert message in line
    assert "\n" not in line


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
