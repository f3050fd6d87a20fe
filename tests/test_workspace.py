"""The workspace contract: names that cannot reach outside their folder, one path layout."""
import pytest

from scripts.core.files import LockBusy, pipeline_lock, write_json_atomic
from scripts.core.workspace import Workspace, WorkspaceError, check_account_name


@pytest.mark.parametrize("name", ["../etc", "..", "a/b", "Upper", "", "-dash", "a..b", ".hidden", "a b"])
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
