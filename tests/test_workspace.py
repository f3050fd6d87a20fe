"""The workspace contract: names that cannot reach outside their folder, one path layout."""
import pytest

from scripts.core.files import LockBusy, pipeline_lock, write_json_atomic
import json
import shutil

from scripts.core.workspace import ACCOUNT_NAME, SCHEMA_DIR, Workspace, WorkspaceError, check_account_name
from tests.conftest import copy_workspace, run_step


@pytest.mark.parametrize("name", ["../etc", "..", "a/b", "Upper", "", "-dash", "a..b", ".hidden", "a b", "all"])
def test_hostile_account_names_are_refused(name):
    with pytest.raises(WorkspaceError):
        check_account_name(name)


def test_paths_follow_the_spec(tmp_path):
    ws = Workspace(tmp_path)
    assert ws.raw_path("tiktok", "mymomskills", "20261120T080004Z") == \
        tmp_path / "data/raw/tiktok/mymomskills/20261120T080004Z.json"
    assert ws.context_path("mymomskills") == tmp_path / "accounts/mymomskills/performance_context.json"
    assert ws.insights_path("mymomskills") == tmp_path / "data/insights/mymomskills.json"
    assert ws.rec_dir("approved") == tmp_path / "recommendations/approved"
    with pytest.raises(WorkspaceError):
        ws.raw_path("youtube", "mymomskills", "x")
    with pytest.raises(WorkspaceError):
        ws.rec_dir("maybe")


def test_atomic_write_leaves_no_temp_file(tmp_path):
    target = tmp_path / "out" / "a.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert target.read_text() == '{\n  "a": 2\n}\n'
    assert [p.name for p in target.parent.iterdir()] == ["a.json"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"a": object()})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_second_lock_holder_is_refused(tmp_path):
    lock = tmp_path / "data" / ".pipeline.lock"
    with pipeline_lock(lock):
        with pytest.raises(LockBusy, match="another pipeline run holds the lock"):
            with pipeline_lock(lock, wait_seconds=0.3):
                pass
    with pipeline_lock(lock):  # released afterwards
        pass


def test_all_is_an_owner_of_cross_account_proposals_only():
    assert check_account_name("all", allow_all=True) == "all"
    with pytest.raises(WorkspaceError, match="reserved"):
        check_account_name("all")


def test_the_schemas_hold_the_same_account_name_rule():
    for name in ("raw_envelope", "recommendation"):
        schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
        assert schema["properties"]["account"]["pattern"] == ACCOUNT_NAME.pattern, name


@pytest.mark.parametrize("bad_name", ["a..b", "Upper", "all"])
def test_a_badly_named_account_folder_is_one_line_and_the_others_go_on(loaded_demo, tmp_path, bad_name):
    """A folder whose name breaks the rule, with a config.yml in it, used to be listed and then
    crash every step that reads the accounts (a WorkspaceError traceback)."""
    ws = copy_workspace(loaded_demo, tmp_path)
    good = ws.account_names()[0]
    shutil.copytree(ws.account_dir(good), ws.accounts_dir / bad_name)
    for step in ("load", "backfill", "analyze"):
        result = run_step(step, ws.root, check=False)
        assert result.returncode == 1, (step, result.stderr)
        assert "Traceback" not in result.stderr, (step, result.stderr)
        lines = [line for line in result.stderr.splitlines() if bad_name in line]
        assert len(lines) == 1 and f"accounts/{bad_name}/config.yml" in lines[0], (step, result.stderr)
        assert "invalid account name" in lines[0]
    assert ws.insights_path(good).is_file()  # the good accounts were analysed all the same
