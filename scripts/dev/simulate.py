"""make simulate: the whole learning loop on a simulated world, week after week (docs/followups.md).

A simulated content generator posts SIM_POSTS_PER_DAY carousels a day per account. Every week it
reads performance_context.json the way a real generator does (scripts/generator_context.py): the
format from choose_format (Thompson sampling from the beliefs, recorded with record_choice in the
folder's meta.json), a preferred hook style from hook_insights.best_styles 60 % of the time, the
slide count from optimal_slide_count, pillars and CTAs at random. It writes real output folders
(meta.json, carousel_data.json) and a daily TikTok raw envelope. Each week the real steps run in
this process on those files: load, backfill, analyze, recommend, then a simulated person approves
every pending proposal at medium confidence or better (and rejects the rest, so the inbox never
blocks), then apply and beliefs.

The planted truth (WORLDS): in "planted", step_guide posts get STEP_GUIDE_LIFT x the views, and
number_specific hooks get HOOK_LIFT x while they are at most FATIGUE_SHARE of the account's posts
of the last FATIGUE_DAYS days, but HOOK_FATIGUE x once they are used more (the audience tires of
them): the change the pipeline learns from the past ("favour number_specific hooks") hurts by
construction. In "null" nothing matters. Checks:
  (a) planted: the final context's best-weighted format is step_guide;
  (b) planted: a change favouring number_specific hooks is followed up as `hurt`, and its revert
      proposed;
  (c) null: no follow-up is ever `worked`.
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import numpy as np
import yaml

from scripts.analysis.analyze import analyze_workspace
from scripts.core.files import read_json
from scripts.core.findings import CONFIDENCE_LEVELS
from scripts.core.timeutil import to_iso, to_stamp
from scripts.core.workspace import Workspace
from scripts.dev.demo import scrape_day
from scripts.dev.demo_world import (BODY_LINES, CTA_LINES, FORMATS, PILLARS, AccountSpec, PlannedPost, _hook,
                                    _slides)
from scripts.proposals.apply import apply_workspace
from scripts.proposals.beliefs import beliefs_workspace
from scripts.proposals.generator_context import (choose_format, hook_styles_to_avoid, load_context,
                                                 preferred_hook_styles, record_choice, slide_count)
from scripts.proposals.recfiles import move, read_states
from scripts.proposals.recommend import recommend_workspace
from scripts.store.backfill import Settings, backfill_workspace
from scripts.store.classify import CTAS, HOOK_STYLES, hook_style
from scripts.store.load import load_workspace

SIM_ACCOUNTS = (
    AccountSpec("simmom", "America/New_York", 12000, ("sleep_routines", "picky_eating", "tantrum_management"), 3000.0),
    AccountSpec("simdad", "Europe/London", 6000, ("screen_time", "sibling_rivalry", "mom_life"), 1500.0),
)
SIM_POSTS_PER_DAY = 3
SIM_START = date(2026, 1, 5)        # a Monday
NOISE_SD = 0.5                      # log-normal noise of a post's views
STEP_GUIDE_LIFT = 2.0
HOOK_LIFT, HOOK_FATIGUE = 1.8, 0.4
FATIGUE_SHARE, FATIGUE_DAYS = 0.35, 14
PREFERRED_STYLE_SHARE = 0.6         # how often the generator uses a best_styles hook
APPROVE = ("medium", "high")
WORLDS = ("planted", "null")
SEEDS = (1, 2, 3)
WEEKS = 26


@dataclass
class Run:
    world: str
    seed: int
    weeks: int
    accounts: int
    final_weights: dict = field(default_factory=dict)      # account -> format_weights
    best_belief: dict = field(default_factory=dict)        # account -> format with the highest belief
    ipw_best: dict = field(default_factory=dict)           # account -> best format by IPW (None: too few)
    statuses: list = field(default_factory=list)    # (week, account, rec id, lever, status, direction, category)
    reverts: list = field(default_factory=list)            # (week, account, id, reverts)
    applied: list = field(default_factory=list)            # (week, account, id, category)

    def best_weighted(self, account: str) -> str | None:
        weights = self.final_weights.get(account) or {}
        top = max(weights.values(), default=None)
        best = [f for f, w in weights.items() if w == top]
        return best[0] if len(best) == 1 else None

    def hook_changes(self) -> set[tuple[str, str]]:
        """The planted harmful change: applied changes that favour number_specific hooks."""
        return {(a, rid) for _, a, rid, lever, _, direction, category in self.statuses
                if lever.get("hook_style") == "number_specific" and direction == "favour" and category != "revert"}

    def check_a(self) -> bool:
        return all(self.best_weighted(a) == "step_guide" for a in self.final_weights)

    def check_b(self) -> bool:
        """Some change favouring number_specific hooks was marked hurt, and each one so marked got
        its revert proposed."""
        changes = self.hook_changes()
        hurt = {(a, rid) for _, a, rid, _, status, *_ in self.statuses if status == "hurt" and (a, rid) in changes}
        reverted = {(a, target) for _, a, _, target in self.reverts}
        return bool(hurt) and hurt <= reverted

    def check_c(self) -> bool:
        return not any(status == "worked" for _, _, _, _, status, *_ in self.statuses)

    def hook_revert_week(self) -> int | None:
        targets = self.hook_changes()
        return min((w for w, a, _, target in self.reverts if (a, target) in targets), default=None)

    def first_week(self, status: str) -> int | None:
        changes = self.hook_changes()
        return min((w for w, a, rid, _, s, *_ in self.statuses if s == status and (a, rid) in changes), default=None)


@dataclass
class SimPost:
    key: str
    planned: PlannedPost
    post_id: str
    style: str


def write_config(ws: Workspace, spec: AccountSpec) -> None:
    config = {"platform_profiles": {"tiktok": spec.name}, "timezone": spec.timezone,
              "content_pillars": {p: PILLARS[p][0] for p in spec.pillars}, "formats": list(FORMATS)}
    path = ws.config_path(spec.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def _write(path: Path, data) -> None:
    """A file the simulated generator or scraper writes (compact, no fsync: it is not an artifact of
    the pipeline; a temporary name renamed into place, as the real ones arrive)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


class World:
    def __init__(self, root: Path, world: str, seed: int, accounts: int):
        self.ws = Workspace(root)
        self.world, self.seed = world, seed
        self.rng = np.random.default_rng(seed)
        self.specs = SIM_ACCOUNTS[:accounts]
        self.posts: dict[str, list[SimPost]] = {spec.name: [] for spec in self.specs}
        self.approve = APPROVE
        for spec in self.specs:
            write_config(self.ws, spec)
        for state in ("pending", "approved", "applied", "rejected"):
            self.ws.rec_dir(state).mkdir(parents=True, exist_ok=True)

    def multiplier(self, account: str, fmt: str, style: str, when: datetime) -> float:
        if self.world == "null":
            return 1.0
        m = STEP_GUIDE_LIFT if fmt == "step_guide" else 1.0
        if style == "number_specific":
            recent = [p for p in self.posts[account]
                      if timedelta(0) < when - p.planned.published["tiktok"] <= timedelta(days=FATIGUE_DAYS)]
            share = sum(p.style == "number_specific" for p in recent) / len(recent) if recent else 0.0
            m *= HOOK_LIFT if share <= FATIGUE_SHARE else HOOK_FATIGUE
        return m

    def generate(self, spec: AccountSpec, day: date, slot: int) -> None:
        """One post the way a generator would make it from the current context."""
        rng, ws = self.rng, self.ws
        context = self.contexts[spec.name]
        tz = ZoneInfo(spec.timezone)
        local = datetime(day.year, day.month, day.day, int(rng.integers(7, 22)), int(rng.integers(0, 60)), tzinfo=tz)
        published = local.astimezone(timezone.utc)
        generated = published - timedelta(hours=3)
        seed = zlib.crc32(f"{self.seed}/{spec.name}/{day}/{slot}".encode())
        fmt = choose_format(context, list(FORMATS), seed=seed)
        best, avoid = preferred_hook_styles(context), set(hook_styles_to_avoid(context))
        styles = [s for s in HOOK_STYLES if s not in avoid] or list(HOOK_STYLES)
        intended = str(rng.choice(best)) if best and rng.random() < PREFERRED_STYLE_SHARE else str(rng.choice(styles))
        pillar = str(rng.choice(spec.pillars))
        topic = str(rng.choice(PILLARS[pillar][1]))
        hook = _hook(rng, intended, topic)
        style = hook_style(hook) or "statement"
        cta = str(rng.choice(CTAS))
        slides = slide_count(context, int(rng.integers(4, 11)))
        caption = "\n\n".join(line for line in [hook, str(rng.choice(BODY_LINES)), str(rng.choice(CTA_LINES[cta])),
                                                f"#parenting #{pillar.replace('_', '')}"] if line)
        views = spec.base_views * self.multiplier(spec.name, str(fmt), style, published) * \
            float(np.exp(rng.normal(0, NOISE_SD)))
        key = f"{day.isoformat()}_{slot + 1}"
        planned = PlannedPost(
            account=spec.name, key=key, platforms=("tiktok",), published={"tiktok": published}, generated_at=generated,
            topic=topic, pillar=pillar, format=str(fmt), hook_style=style, cta=cta, slide_count=slides, hook_text=hook,
            hook_score=float(np.clip(rng.normal(11, 3.5), 0, 20)).__round__(1), caption=caption,
            slides=_slides(str(fmt), hook, slides, topic), media="carousel", final_views=views,
            tau_days=float(rng.uniform(0.8, 2.0)),
            rates={"like": 0.06, "comment": 0.004, "share": 0.004, "save": 0.012})
        folder = ws.output_dir(spec.name) / key
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"topic": topic, "format": str(fmt), "hook_text": hook, "hook_score": planned.hook_score,
                "generated_at": to_iso(generated), "pillar_hint": pillar, "slide_count": slides}
        # the generator's own files as a generator writes them; the pick is logged through the reader
        _write(folder / "carousel_data.json", {"caption": caption, "slides": [
            {"index": i + 1, "text": t} for i, t in enumerate(planned.slides)]})
        _write(folder / "meta.json", meta)
        record_choice(folder, fmt)
        post_id = "7" + "".join(str(d) for d in rng.integers(0, 10, 18))
        self.posts[spec.name].append(SimPost(key, planned, post_id, style))

    def scrape(self, when: datetime, day_index: int) -> None:
        for spec in self.specs:
            posts = [p.planned for p in self.posts[spec.name]]
            ids = {(p.key, "tiktok"): p.post_id for p in self.posts[spec.name]}
            recent = [p for p in posts if timedelta(0) <= when - p.published["tiktok"] <= timedelta(days=10)]
            envelope = scrape_day(spec, "tiktok", recent, ids, when, day_index, self.rng)
            _write(self.ws.raw_path("tiktok", spec.name, to_stamp(when)), envelope)

    def week(self, week: int) -> None:
        """A week of posts; the generator reads each account's context once, at the start."""
        self.contexts = {spec.name: load_context(self.ws.account_dir(spec.name)) for spec in self.specs}
        for d in range(7):
            day = SIM_START + timedelta(days=7 * week + d)
            for spec in self.specs:
                for slot in range(SIM_POSTS_PER_DAY):
                    self.generate(spec, day, slot)
            when = datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone.utc) + timedelta(hours=8)
            self.scrape(when, 7 * week + d + 1)

    def pipeline(self, week: int, run: Run) -> None:
        now = datetime.combine(SIM_START + timedelta(days=7 * (week + 1)), datetime.min.time(),
                               timezone.utc) + timedelta(hours=9)
        ws = self.ws
        with contextlib.redirect_stdout(io.StringIO()):
            for step in (lambda: load_workspace(ws, quiet=True), lambda: backfill_workspace(ws, Settings(), quiet=True),
                         lambda: analyze_workspace(ws, quiet=True), lambda: recommend_workspace(ws, now)):
                _strict(step(), week)
            pending, _ = read_states(ws, ("pending",))
            for rec in pending:
                if rec.data["category"] == "revert":
                    run.reverts.append((week, rec.account, rec.data["id"], rec.data.get("reverts")))
                move(ws, rec, "approved" if rec.data["confidence"] in self.approve else "rejected")
            for step in (lambda: apply_workspace(ws, now), lambda: beliefs_workspace(ws, now)):
                _strict(step(), week)
        for spec in self.specs:
            insights = read_json(ws.insights_path(spec.name))
            for f in insights.get("followups") or []:
                run.statuses.append((week, spec.name, f["recommendation"], f["lever"], f["status"], f["direction"],
                                     f["category"]))
        applied, _ = read_states(ws, ("applied",))
        known = {a[2] for a in run.applied}
        run.applied += [(week, r.account, r.data["id"], r.data["category"]) for r in applied if r.data["id"] not in known]


class SimulationFailed(RuntimeError):
    """A pipeline step reported a problem on the simulated workspace (a bug, never noise)."""


def _strict(problems, week: int) -> None:
    if problems.exit_code():
        raise SimulationFailed(f"week {week}: {problems.step}: {'; '.join(problems.lines)}")


def simulate(root: Path, world: str, seed: int, weeks: int = WEEKS, accounts: int = 2, approve=APPROVE) -> Run:
    """One simulated run in a fresh workspace at root; `approve`: the confidence levels the
    simulated person approves (the rest are rejected)."""
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    sim = World(root, world, seed, accounts)
    sim.approve = tuple(approve)
    run = Run(world, seed, weeks, accounts)
    for week in range(weeks):
        sim.week(week)
        sim.pipeline(week, run)
    for spec in sim.specs:
        context = load_context(sim.ws.account_dir(spec.name))
        run.final_weights[spec.name] = context.get("format_weights") or {}
        beliefs = context.get("format_beliefs") or {}
        run.best_belief[spec.name] = max(beliefs, key=lambda f: beliefs[f]["mean"]) if beliefs else None
        randomised = (read_json(sim.ws.insights_path(spec.name)).get("beliefs") or {}).get("randomised") or {}
        run.ipw_best[spec.name] = randomised.get("best")
    return run


def table(runs: list[Run]) -> str:
    head = ("| world | seed | weeks | best-weighted format | highest belief | IPW best | hook change hurt (week) "
            "| revert proposed (week) | worked claims | (a) | (b) | (c) |\n|" + "---|" * 12)
    lines = [head]
    for run in runs:
        accounts = sorted(run.final_weights)
        best = ", ".join(f"{run.best_weighted(a)}" for a in accounts)
        belief = ", ".join(str(run.best_belief[a]) for a in accounts)
        ipw = ", ".join(str(run.ipw_best[a]) for a in accounts)
        hurt = run.first_week("hurt")
        revert = run.hook_revert_week()
        worked = len({(a, rid) for _, a, rid, _, s, *_ in run.statuses if s == "worked"})
        planted = run.world == "planted"
        lines.append(f"| {run.world} | {run.seed} | {run.weeks} | {best} | {belief} | {ipw} | "
                     f"{hurt if hurt is not None else '-'} | {revert if revert is not None else '-'} | {worked} | "
                     f"{_mark(run.check_a()) if planted else 'n/a'} | {_mark(run.check_b()) if planted else 'n/a'} | "
                     f"{_mark(run.check_c()) if not planted else 'n/a'} |")
    return "\n".join(lines)


def _mark(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def simulate_all(root: Path, seeds=SEEDS, weeks: int = WEEKS, worlds=WORLDS, accounts: int = 2,
                 approve=APPROVE) -> tuple[str, bool]:
    """Every world x seed; (the markdown table, whether every check passed)."""
    runs = []
    for world in worlds:
        for seed in seeds:
            runs.append(simulate(Path(root) / f"{world}-{seed}", world, seed, weeks, accounts, approve))
            print(table(runs[-1:]).splitlines()[-1], flush=True)
    ok = all((r.check_a() and r.check_b()) if r.world == "planted" else r.check_c() for r in runs)
    return table(runs), ok


def dump(run: Run) -> str:
    return json.dumps({"statuses": run.statuses, "reverts": run.reverts, "applied": run.applied,
                       "final_weights": run.final_weights}, indent=1, default=str)


def approve_levels(text: str) -> tuple[str, ...]:
    """--approve: comma-separated confidence levels the simulated person approves."""
    levels = tuple(text.split(","))
    if not set(levels) <= set(CONFIDENCE_LEVELS):
        raise click.BadParameter(f"{text!r}: want levels among {', '.join(CONFIDENCE_LEVELS)}", param_hint="--approve")
    return levels


def run_simulation(folder, seeds=SEEDS, weeks: int = WEEKS, accounts: int = 2, worlds=WORLDS,
                   approve=APPROVE) -> int:
    """make simulate: every world x seed under folder; prints the table; 0 when every check passed."""
    text, ok = simulate_all(Path(folder), seeds, weeks, worlds, accounts, approve)
    print(f"\nsimulate: {weeks} weeks, {accounts} account(s), seeds {', '.join(map(str, seeds))}, "
          f"approving {', '.join(approve)}\n\n{text}\n")
    print("simulate: every check passed" if ok else "simulate: a check FAILED")
    return 0 if ok else 2
