"""The layout (docs/architecture.md): thin entry points on top, one package per stage, and a
package imports only core/ and the stages before it. Read from the source, so a new import that
breaks the rule fails here, not in a reviewer's head."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from scripts.core.findings import CONFIDENCE_LEVELS
from scripts.core.workspace import PROJECT_DIR, SCHEMA_DIR

SCRIPTS = PROJECT_DIR / "scripts"
STAGES = ("core", "sources", "store", "analysis", "proposals", "outputs")  # each may use those before it
CONTRACT = "generator_context"  # the generator's import path, kept as a re-export
ENTRIES = sorted(p.stem for p in SCRIPTS.glob("*.py") if p.stem not in ("__init__", CONTRACT))
PACKAGES = sorted(p.name for p in SCRIPTS.iterdir() if (p / "__init__.py").is_file())


def imported_modules(path: Path) -> set[str]:
    """Every scripts.* module a file imports, as dotted names below scripts ('core.db')."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scripts"):
            base = node.module.removeprefix("scripts").lstrip(".")
            found |= {f"{base}.{a.name}".lstrip(".") if not base or base in PACKAGES else base
                      for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("scripts.") for a in node.names if a.name.startswith("scripts.")}
    return found


def test_every_package_is_a_known_stage_or_dev():
    assert set(PACKAGES) == set(STAGES) | {"dev"}


@pytest.mark.parametrize("package", STAGES)
def test_a_stage_imports_only_core_and_the_stages_before_it(package):
    allowed = set(STAGES[:STAGES.index(package) + 1])
    for path in (SCRIPTS / package).glob("*.py"):
        for module in imported_modules(path):
            assert module.split(".")[0] in allowed, f"{path.relative_to(PROJECT_DIR)} imports scripts.{module}"


def test_no_package_imports_an_entry_point():
    for path in SCRIPTS.glob("*/*.py"):
        for module in imported_modules(path):
            assert module not in ENTRIES + [CONTRACT], f"{path.relative_to(PROJECT_DIR)} imports scripts.{module}"


@pytest.mark.parametrize("entry", ENTRIES)
def test_an_entry_point_is_its_options_and_one_call(entry):
    path = SCRIPTS / f"{entry}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    assert [f.name for f in functions] == ["cli"], f"{entry}.py defines more than its command"
    assert len(functions[0].body) <= 3, f"{entry}.py: the command's body belongs in a package"
    for module in imported_modules(path):
        assert module.split(".")[0] in PACKAGES, f"{entry}.py imports another entry point, scripts.{module}"


def test_the_generator_keeps_its_import_path():
    import scripts.generator_context as contract
    from scripts.proposals import generator_context as reader
    assert contract.__all__ and all(getattr(contract, name) is getattr(reader, name) for name in reader.__all__)


def test_the_schemas_hold_the_same_confidence_words():
    for name in ("insights", "recommendation"):
        schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
        found = schema["properties"]["confidence"] if "confidence" in schema["properties"] else \
            schema["$defs"]["finding"]["properties"]["confidence"]
        assert set(found["enum"]) == set(CONFIDENCE_LEVELS), name


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_usage_error_exits_non_zero(entry):
    """An unknown option is a usage error on every entry point: one line, and a non-zero exit for make and cron."""
    import importlib

    from click.testing import CliRunner
    command = importlib.import_module(f"scripts.{entry}").cli
    result = CliRunner().invoke(command, ["--no-such-option"])
    clean = result.exception is None or isinstance(result.exception, SystemExit)  # never a traceback
    assert result.exit_code != 0 and "no-such-option" in result.output and clean, (entry, result.output)
