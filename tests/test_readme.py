"""README.md and docs/*.md name only make targets, modules and files that exist.

Nothing below lists the targets or files by hand: they are read from make, the repository and
scripts/core/workspace.py, so renaming a target or a file the pages name fails here.

What is checked, in README.md and every docs/*.md:

* **make targets.** Every `make <target>` in inline code, or run as a command in a fenced block
  (at the start of a line, after a path as in ``/usr/bin/make``, or after ``&&``; ``gmake`` too),
  must be a rule in make's own database (`make -qp`: the Makefile and every mk/*.mk). Every
  target `make help` lists must be named in the README.
* **views.** Every `v_<name>` in inline code is a file sql/views/v_<name>.sql.
* **python modules.** Every `scripts.<name>` (``python -m scripts.load``,
  ``from scripts.generator_context import …``) must be a module or package under scripts/.
* **paths** in inline code (a span without spaces that holds a `/`, or is a file name with a
  known extension), in relative link targets, and in fenced blocks (a word that starts with a
  repository folder or a workspace folder followed by `/`). What a path is decides how it is
  checked; the first rule that fits wins:

  1. ``/…``, ``~/…``, ``../…`` and URLs are outside both repository and workspace: skipped
     (``../x`` is how the pages write a hostile account name).
  2. **workspace path**: the span starts with ``<ROOT>/``, or its first folder is `accounts`,
     `data` or `recommendations` (the workspace root is the repository by default, but its
     contents are made by the steps, so they need not exist here). It must fit the layout that
     scripts/core/workspace.py defines (the one place that knows where artifacts live), plus
     the files Make keeps in data/ (the Makefile's ``$(DATA)/…``) and the cron log
     (scripts/core/schedule.py): the path is a layout path, a folder on the way to one, or
     lies inside a folder whose contents the layout leaves open (the generator's output/,
     data/dashboard/, data/raw/_rejected/, recommendations/<state>/). ``<ROOT>/name`` may also
     be a workspace's own copy of a top-level repository file (``<ROOT>/scrape.yml``).
  3. **generated folder**: `demo/…`, `bench/…` and `simulate/…`, which `make demo`, `make bench` and `make simulate` create
     (git-ignored): skipped.
  4. **repository path**: the first segment is an entry at the top of the repository
     (`scripts/`, `sql/`, `docs/`, `Makefile`, …). It must exist. ``<…>``, ``*`` and ``…``
     stand for any name, ``{a,b}`` for each alternative, a trailing `/` must be a folder, and
     ``tests/x.py::name`` must also define `name` in that file.
  5. **Apify actor id** (`clockworks/tiktok-profile-scraper`): its owner is the owner of an
     actor in scrape.yml: skipped.
  6. Anything else with a `/` fails, so a path under a renamed top-level folder cannot slip
     through as "not a path".
  7. **bare file name** (`metadata.yml`, `meta.json`, `stats.py`, `approved/`): must be the name
     of a file or folder in the repository, or a name the code uses (it occurs in scripts/, the
     Makefile or mk/). A bare name with a placeholder (`<account>.html`) is skipped.

  Link targets are relative to the page that holds them, must exist, and must stay inside the
  repository (the README links docs/, never ../shared).
"""
from __future__ import annotations

import functools
import os
import re
import subprocess
from pathlib import Path

import pytest

from scripts.core import schedule
from scripts.core.workspace import PLATFORMS, REC_STATES, Workspace

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PAGE_IDS = [str(p.relative_to(REPO)) for p in PAGES]

WORKSPACE_TOPS = ("accounts", "data", "recommendations")
GENERATED_TOPS = ("demo", "bench", "simulate")
SKIP_WALK = {".git", ".venv", "demo", "bench", "simulate", "__pycache__", ".pytest_cache", "node_modules"}
FILE_EXTENSIONS = ("py", "md", "sql", "json", "yml", "yaml", "mk", "j2", "toml", "txt", "html", "log",
                   "db", "plist", "csv", "gz", "cfg", "ini", "sh")

FENCE = re.compile(r"^```[^\n]*\n.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
MAKE_CALL = re.compile(r"(?<![\w$(.-])g?make((?:\s+[A-Z_][A-Z0-9_]*=\S*)*)\s+([a-z_][a-z0-9_-]*)")
# in a fenced block only a command counts: make at the start of a line, after a path or after &&
FENCED_MAKE = re.compile(r"(?:^[ \t]*(?:\$ )?|/|&& )" + MAKE_CALL.pattern, re.MULTILINE)
MODULE = re.compile(r"(?<![\w./])scripts((?:\.[a-z_][a-z0-9_]*)+)")
PATH_CHARS = re.compile(r"^[\w.~<>{}*,\[\]…@+:-]+(/[\w.~<>{}*,\[\]…@+:-]*)*$")
BARE_NAME = re.compile(r"^[\w.-]+\.(%s)/?$|^[\w.-]+/$" % "|".join(FILE_EXTENSIONS))
PLACEHOLDER = re.compile(r"<[^<>/]*>|…|\*+")
FENCED_WORD = re.compile(r"[^\s\"'`,;()=|]+")


# --- reading the pages ----------------------------------------------------------------------------

@functools.cache
def page_parts(page: Path) -> tuple[str, list[str]]:
    """(prose, fenced blocks) of one page."""
    text = page.read_text(encoding="utf-8")
    return FENCE.sub("\n", text), FENCE.findall(text)


def inline_spans(page: Path) -> list[str]:
    return INLINE.findall(page_parts(page)[0])


def code_texts(page: Path) -> list[str]:
    """Everything that is code on a page: its inline spans and its fenced blocks."""
    prose, fenced = page_parts(page)
    return inline_spans(page) + fenced


def named_targets(page: Path) -> set[str]:
    inline = {m.group(2) for span in inline_spans(page) for m in MAKE_CALL.finditer(span)}
    return inline | {m.group(2) for block in page_parts(page)[1] for m in FENCED_MAKE.finditer(block)}


# --- what exists ----------------------------------------------------------------------------------

def _make_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


@functools.cache
def make_targets() -> frozenset[str]:
    """Every rule in make's database (the Makefile and mk/*.mk, as make itself reads them)."""
    result = subprocess.run(["make", "-qp"], cwd=REPO, capture_output=True, text=True, env=_make_env())
    assert "# Make data base" in result.stdout, result.stderr
    targets, not_a_target = set(), False
    for line in result.stdout.splitlines():
        if line.startswith("# Not a target"):
            not_a_target = True
            continue
        match = re.match(r"^([^\s#:=%][^\s:=%]*)::?(?:\s|$)", line)
        if match and not not_a_target:
            targets.add(match.group(1))
        not_a_target = False
    return frozenset(targets)


@functools.cache
def public_targets() -> tuple[str, ...]:
    result = subprocess.run(["make", "help"], cwd=REPO, capture_output=True, text=True, env=_make_env())
    names = tuple(re.findall(r"^\s*make\s+(\S+)", result.stdout, re.MULTILINE))
    assert names, result.stdout + result.stderr
    return names


@functools.cache
def repo_names() -> frozenset[str]:
    """The name of every file and folder in the repository."""
    names = set()
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_WALK]
        names.update(dirs)
        names.update(files)
    return frozenset(names)


@functools.cache
def code_text() -> str:
    """The code a bare name may come from: scripts/ (templates too), the Makefile and mk/."""
    paths = [REPO / "Makefile", *(REPO / "mk").glob("*.mk"),
             *(p for p in (REPO / "scripts").rglob("*") if p.is_file() and p.suffix in (".py", ".j2"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in paths)


@functools.cache
def actor_owners() -> frozenset[str]:
    """The owners of the Apify actors scrape.yml names (clockworks, apify)."""
    actors = re.findall(r"^\s*actor:\s*([\w.-]+)/", (REPO / "scrape.yml").read_text(encoding="utf-8"), re.MULTILINE)
    assert actors
    return frozenset(actors)


# the workspace layout, made by asking scripts/core/workspace.py with stand-in names
ACCOUNT, STAMP = "acct0", "20000101T000000Z"


@functools.cache
def layout() -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """(paths, open folders) of the workspace, relative to its root, as segment tuples."""
    ws = Workspace("")
    paths = [ws.config_path(ACCOUNT), ws.context_path(ACCOUNT), ws.db_path, ws.insights_path(ACCOUNT),
             ws.all_insights_path, ws.lock_path, ws.accounts_dir, ws.recommendations_dir, ws.digest_path,
             ws.history_path(ACCOUNT), ws.analyze_cache_path(ACCOUNT), ws.dashboard_manifest_path,
             ws.pooled_priors_path, ws.cache_dir, ws.findings_cache_path(ACCOUNT), ws.picks_cache_path(ACCOUNT),
             *(ws.raw_path(p, ACCOUNT, STAMP) for p in PLATFORMS)]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    paths += [ws.data_dir / name for name in re.findall(r"\$\(DATA\)/([\w./-]+)", makefile)]
    paths.append(ws.data_dir / schedule.LOG_NAME)
    open_dirs = [ws.output_dir(ACCOUNT), ws.dashboard_dir, ws.rejected_dir, *(ws.rec_dir(s) for s in REC_STATES)]
    as_segments = lambda items: [tuple(Path(p).parts) for p in items]  # noqa: E731
    return as_segments(paths + open_dirs), as_segments(open_dirs)


def _doc_regex(segment: str) -> str:
    out, pos = [], 0
    for m in PLACEHOLDER.finditer(segment):
        out.append(re.escape(segment[pos:m.start()]))
        out.append("[^/]*")
        pos = m.end()
    return "".join(out) + re.escape(segment[pos:])


def _layout_regex(segment: str) -> str:
    return "[^/]+".join(re.escape(part) for part in re.split(f"{ACCOUNT}|{STAMP}", segment))


def _segment_fits(doc: str, lay: str) -> bool:
    doc_sample = PLACEHOLDER.sub("x1", doc)
    return bool(re.fullmatch(_layout_regex(lay), doc_sample) or re.fullmatch(_doc_regex(doc), lay))


def _fits(doc: tuple[str, ...], lay: tuple[str, ...]) -> bool:
    return len(doc) == len(lay) and all(_segment_fits(d, l) for d, l in zip(doc, lay))


def fits_layout(segments: tuple[str, ...]) -> bool:
    paths, open_dirs = layout()
    if "**" in segments:  # anything below: only the part above it is the layout's business
        segments = segments[:segments.index("**")]
    if any(_fits(segments, p[:len(segments)]) for p in paths if len(p) >= len(segments)):
        return True  # a layout path, or a folder on the way to one
    return any(_fits(segments[:len(d)], d) for d in open_dirs if len(segments) > len(d))


# --- classifying and checking one path ------------------------------------------------------------

def expand_braces(text: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", text)
    if not match:
        return [text]
    return [expanded for choice in match.group(1).split(",")
            for expanded in expand_braces(text[:match.start()] + choice + text[match.end():])]


def defines(path: Path, names: list[str]) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [n for n in names if not re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{re.escape(n)}\b", text, re.MULTILINE)]


def repo_path_problem(text: str) -> str | None:
    path, *names = text.split("::")
    for variant in expand_braces(path):
        pattern = PLACEHOLDER.sub("*", variant.rstrip("/"))
        found = sorted(REPO.glob(pattern)) if any(c in pattern for c in "*?[") else \
            ([REPO / pattern] if (REPO / pattern).exists() else [])
        if variant.endswith("/"):
            found = [p for p in found if p.is_dir()]
        if not found:
            return f"{variant}: no such file or folder in the repository"
        if names and found[0].is_file():
            missing = defines(found[0], names)
            if missing:
                return f"{variant}: defines no {', '.join(missing)}"
    return None


def path_problem(text: str, strict: bool = True) -> str | None:
    """Why `text` names nothing real, or None. strict=False (words in fenced blocks): only paths that
    start with a repository or workspace folder are judged."""
    text = text.rstrip(".,:;")
    if not text or text.startswith(("/", "~", "$", "../")) or "://" in text or text.startswith("</") or "><" in text:
        return None
    if text.startswith("<ROOT>/"):
        rest = text.removeprefix("<ROOT>/")
        if (REPO / rest).is_file() and "/" not in rest:
            return None  # a workspace's own copy of a repository file (scrape.yml)
        return None if all(fits_layout(tuple(v.rstrip("/").split("/"))) for v in expand_braces(rest)) \
            else f"{text}: not in the workspace layout (scripts/core/workspace.py)"
    first, slash, _ = text.partition("/")
    if not slash or (text.endswith("/") and text.count("/") == 1):  # a bare name
        if not strict or PLACEHOLDER.search(text):
            return None
        name = text.rstrip("/")
        return None if name in repo_names() or name in code_text() else \
            f"{text}: no file of that name in the repository, and the code never names it"
    if first in WORKSPACE_TOPS:
        return None if all(fits_layout(tuple(v.rstrip("/").split("/"))) for v in expand_braces(text.split("::")[0])) \
            else f"{text}: not in the workspace layout (scripts/core/workspace.py)"
    if first in GENERATED_TOPS:
        return None
    if (REPO / first).exists() and first not in SKIP_WALK - {".venv"}:
        return repo_path_problem(text)
    if not strict or first in actor_owners():
        return None
    return f"{text}: neither a repository path, a workspace path nor an Apify actor (renamed?)"


def page_paths(page: Path) -> list[tuple[str, bool]]:
    """(path-like text, strict) of a page: inline spans strictly, fenced words leniently."""
    found = [(span, True) for span in inline_spans(page)
             if " " not in span.strip() and PATH_CHARS.match(span.strip())
             and ("/" in span or BARE_NAME.match(span.strip()))]
    for block in page_parts(page)[1]:
        for word in FENCED_WORD.findall(block):
            first = word.partition("/")[0]
            if "/" in word and first and (first in WORKSPACE_TOPS or (REPO / first).is_dir()):
                found.append((word, False))
    return [(text.strip(), strict) for text, strict in found]


# --- the tests ------------------------------------------------------------------------------------

def test_make_reads_the_targets():
    assert {"help", "daily", "weekly"} <= make_targets()
    assert set(public_targets()) <= make_targets()


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_make_target_named_is_a_real_target(page):
    unknown = sorted(named_targets(page) - make_targets())
    assert unknown == [], f"{page.name} names make targets that do not exist: {unknown}"


def test_the_readme_has_a_paragraph_for_every_public_target():
    named = named_targets(REPO / "README.md")
    assert [t for t in public_targets() if t not in named] == []


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_module_named_exists(page):
    problems = []
    for text in code_texts(page):
        for match in MODULE.finditer(text):
            folder = REPO / "scripts"
            for part in match.group(1).strip(".").split("."):
                if (folder / part / "__init__.py").is_file():
                    folder = folder / part
                    continue
                if not (folder / f"{part}.py").is_file():
                    problems.append(f"scripts{match.group(1)}")
                break
    assert problems == [], f"{page.name} names modules that do not exist: {sorted(set(problems))}"


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_path_named_exists(page):
    problems = sorted({p for text, strict in page_paths(page) if (p := path_problem(text, strict))})
    assert problems == [], f"{page.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_view_named_is_in_sql_views(page):
    views = {m for span in inline_spans(page) for m in re.findall(r"\bv_[a-z0-9_]+\b", span)}
    assert sorted(v for v in views if not (REPO / "sql" / "views" / f"{v}.sql").is_file()) == []


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_every_link_leads_to_a_file_in_the_repository(page):
    problems = []
    for target in LINK.findall(page_parts(page)[0]):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        resolved = (page.parent / target.split("#")[0]).resolve()
        if not resolved.is_relative_to(REPO):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
    assert problems == [], f"{page.name}: {problems}"


def test_the_readme_points_at_docs_not_at_the_shared_folder():
    assert "../shared" not in (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_stays_short():
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 170, f"README.md has {lines} lines; move details into docs/"


# --- the checker itself: it must catch what it is for ----------------------------------------------

@pytest.mark.parametrize("text", ["scripts/core/", "docs/load.md", "sql/tables/*.sql", "schemas/…",
                                  "scripts/<step>.py", "tests/test_readme.py::test_the_readme_stays_short",
                                  "data/raw/<platform>/<account>/<stamp>.json", "recommendations/pending/",
                                  "recommendations/{pending,approved,applied,rejected}/*.json",
                                  "accounts/<name>/output/**/meta.json", "data/dashboard/<account>.html",
                                  "<ROOT>/scrape.yml", "<ROOT>/data/cron.log", "data/.pipeline.lock",
                                  "clockworks/tiktok-profile-scraper", "metadata.yml", "meta.json", "approved/"])
def test_real_names_pass(text):
    assert path_problem(text) is None


@pytest.mark.parametrize("text", ["scripts/load_v2.py", "scripts/core/nothing.py", "docs/nowhere.md",
                                  "sql/queries_old/", "schema/insights.schema.json", "README.md::no_such_test",
                                  "tests/test_readme.py::no_such_test", "data/raws/<platform>/",
                                  "data/insights/<account>.yaml", "recommendations/pendng/",
                                  "accounts/<name>/contexts.json", "<ROOT>/nothing.yml", "metadata_old.yml"])
def test_wrong_names_fail(text):
    assert path_problem(text) is not None
