"""The synthetic world: deterministic, in the real item shapes, with documented planted effects."""
import hashlib
import json
from datetime import date

import jsonschema

from scripts.dev.demo import build_workspace
from scripts.dev.demo_world import PLANTED
from scripts.core.workspace import SCHEMA_DIR, Workspace


def digest(root):
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_world(tmp_path):
    for name in ("a", "b"):
        build_workspace(tmp_path / name, seed=3, days=20, end=date(2026, 11, 23), null=False, accounts=2)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_world_shape(tmp_path):
    truth = build_workspace(tmp_path, seed=5, days=40, end=date(2026, 11, 23), null=False, accounts=4)
    ws = Workspace(tmp_path)
    assert ws.account_names() == ["dreamtimelullabies", "mymomskills", "parentplaybook", "slumbersongs"]
    assert truth["planted"] == PLANTED
    files = ws.raw_files()
    assert len(files) == 4 * 2 * 40
    schema = json.loads((SCHEMA_DIR / "raw_envelope.schema.json").read_text())
    for path in files[::37]:
        envelope = json.loads(path.read_text())
        jsonschema.validate(envelope, schema)
        assert len(envelope["items"]) <= 32
    posts = truth["posts"]
    handmade = [p for p in posts if p["folder"] is None]
    assert 0 < len(handmade) < 0.15 * len(posts)
    assert all(p["media"] == "video" for p in handmade)
    folders = {p.parent.name for p in ws.accounts_dir.glob("*/output/*/meta.json")}
    assert {p["folder"] for p in posts if p["folder"]} < folders  # plus drafts never published


def test_null_world_plants_nothing(tmp_path):
    truth = build_workspace(tmp_path, seed=5, days=10, end=date(2026, 11, 23), null=True, accounts=1)
    assert truth["null"] is True and truth["planted"] == []
