"""The synthetic world behind `make demo` and the tests: accounts, posts and their true effects.

Every planted effect is listed in PLANTED (the analyzer's acceptance tests read it); with
null=True every multiplier is 1 and choices are uniform, so no real difference exists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

from scripts.core.config import DEFAULT_FORMATS
from scripts.store.classify import CTAS, HOOK_STYLES  # the one vocabulary the classifier also uses

FORMATS = DEFAULT_FORMATS  # the formats a config gets by default

PILLARS = {
    "sleep_routines": (["sleep", "bedtime", "nap", "night", "lullaby"],
                       ["bedtime routine", "nap transitions", "night wakings", "early rising", "sleep regression"]),
    "picky_eating": (["picky", "food", "meal", "eat", "snack"],
                     ["picky eating", "toddler meals", "snack battles", "trying new foods"]),
    "tantrum_management": (["tantrum", "meltdown", "whining", "calm"],
                           ["tantrums", "public meltdowns", "whining", "calm down corner"]),
    "mom_life": (["mom", "self-care", "morning", "overwhelm"],
                 ["mom burnout", "morning chaos", "self-care as a mom"]),
    "baby_bonding": (["bond", "cuddle", "song", "play"],
                     ["bonding with baby", "baby play ideas", "songs for baby"]),
    "screen_time": (["screen", "tablet", "tv", "phone"],
                    ["screen time limits", "tablet tantrums", "tv-free afternoons"]),
    "sibling_rivalry": (["sibling", "sharing", "brother", "sister"],
                        ["sibling fights", "sharing toys", "new baby sibling"]),
}


@dataclass(frozen=True)
class AccountSpec:
    name: str
    timezone: str
    followers: int
    pillars: tuple[str, ...]
    base_views: float          # median day-30 TikTok views of an ordinary post
    format_bias: str | None = None   # over-indexed format (exploration finding)
    dropped_format: str | None = None  # a format not used in the last 30 days


DEMO_ACCOUNTS = (
    AccountSpec("dreamtimelullabies", "America/Los_Angeles", 52000,
                ("sleep_routines", "baby_bonding", "tantrum_management"), 9000.0),
    AccountSpec("mymomskills", "America/New_York", 18400,
                ("picky_eating", "sleep_routines", "tantrum_management", "mom_life"), 4000.0,
                format_bias="habit_list"),
    AccountSpec("slumbersongs", "Europe/London", 7300,
                ("sleep_routines", "baby_bonding", "screen_time"), 1800.0, dropped_format="how_to"),
    AccountSpec("parentplaybook", "Australia/Sydney", 2100,
                ("tantrum_management", "picky_eating", "sibling_rivalry", "screen_time"), 700.0),
)

# The planted effects, in words and numbers. Multipliers apply to the post's final views
# (TikTok views, Instagram reach behind likes) or to one engagement rate.
PLANTED = [
    {"id": "format_step_guide_views", "dimension": "formats", "metric": "views",
     "group": {"format": "step_guide"}, "multiplier": 2.0,
     "words": "step_guide posts get 2x the views of any other format, on every account"},
    {"id": "hook_number_specific", "dimension": "hooks", "metric": "views",
     "group": {"hook_style": "number_specific"}, "multiplier": 1.8,
     "words": "number_specific hooks get 1.8x the views"},
    {"id": "hook_generic_question", "dimension": "hooks", "metric": "views",
     "group": {"hook_style": "generic_question"}, "multiplier": 0.5,
     "words": "generic_question hooks get half the views (a failure pattern)"},
    {"id": "slides_8_plus", "dimension": "slide_count", "metric": "views",
     "group": {"slide_count": ">=8"}, "multiplier": 0.5,
     "words": "posts with 8 or more slides get half the views (a failure pattern)"},
    {"id": "pillar_sleep_dreamtime", "dimension": "pillars", "metric": "views",
     "group": {"account": "dreamtimelullabies", "content_pillar": "sleep_routines"}, "multiplier": 2.0,
     "words": "on dreamtimelullabies only, sleep_routines posts get 2x the views (account-specific)"},
    {"id": "cta_save_this_saves", "dimension": "save_vs_share", "metric": "save_rate",
     "group": {"cta": "save_this"}, "multiplier": 2.5,
     "words": "a save_this CTA multiplies the save rate by 2.5 (TikTok saves)"},
    {"id": "cta_share_shares", "dimension": "save_vs_share", "metric": "share_rate",
     "group": {"cta": "share"}, "multiplier": 2.5,
     "words": "a share CTA multiplies the share rate by 2.5 (TikTok shares)"},
    {"id": "evening_posts", "dimension": "timing", "metric": "views",
     "group": {"local_hour": "18-21"}, "multiplier": 1.8,
     "words": "posts published 18:00-21:59 local time get 1.8x the views"},
    {"id": "boring_habits_long_tail", "dimension": "growth", "metric": "views_growth",
     "group": {"format": "boring_habits"}, "multiplier": None,
     "words": "boring_habits posts keep growing for weeks (long tail); others spike and die within days"},
    {"id": "hook_score_correlates", "dimension": "hooks", "metric": "views",
     "group": {"hook_score": "continuous"}, "multiplier": None,
     "words": "each hook_score point multiplies views by 1.08 (score 0-20)"},
    {"id": "mymomskills_over_indexes_habit_list", "dimension": "exploration", "metric": "share_of_posts",
     "group": {"account": "mymomskills", "format": "habit_list"}, "multiplier": None,
     "words": "mymomskills makes ~55% of its posts habit_list (over-indexing)"},
    {"id": "slumbersongs_dropped_how_to", "dimension": "exploration", "metric": "recency",
     "group": {"account": "slumbersongs", "format": "how_to"}, "multiplier": None,
     "words": "slumbersongs has posted no how_to in the last 30 days"},
]


@dataclass(frozen=True)
class Truth:
    """The effects a world plants (multipliers on views, or on one engagement rate) and its noise.
    DEMO_TRUTH is PLANTED in numbers; a calibration world plants its own (scripts/dev/calibrate.py)."""
    format_views: tuple[tuple[str, float], ...] = (("step_guide", 2.0),)
    hook_views: tuple[tuple[str, float], ...] = (("number_specific", 1.8), ("generic_question", 0.5))
    pillar_views: tuple[tuple[str, float], ...] = ()
    slides_8_plus: float = 0.5
    account_pillar: tuple[str, str, float] | None = ("dreamtimelullabies", "sleep_routines", 2.0)
    evening: float = 1.8             # 18:00-21:59 local
    hook_score_step: float = 1.08    # per hook_score point above 10
    save_cta: tuple[str, float] = ("save_this", 2.5)
    share_cta: tuple[str, float] = ("share", 2.5)
    long_tail_format: str | None = "boring_habits"
    noise_sd: float = 0.7            # log-normal SD of a post's views around its expected value
    viral_share: float = 0.02        # posts that go viral (x12)


DEMO_TRUTH = Truth()
NO_EFFECTS = Truth(format_views=(), hook_views=(), slides_8_plus=1.0, account_pillar=None, evening=1.0,
                   hook_score_step=1.0, save_cta=("save_this", 1.0), share_cta=("share", 1.0), long_tail_format=None)


@dataclass
class PlannedPost:
    account: str
    key: str                       # folder name, unique per account
    platforms: tuple[str, ...]
    published: dict[str, datetime]  # platform -> UTC publish time
    generated_at: datetime | None  # None: hand-made post, no generator folder
    topic: str
    pillar: str
    format: str
    hook_style: str
    cta: str
    slide_count: int
    hook_text: str
    hook_score: float
    caption: str
    slides: list[str]
    media: str                     # carousel | video
    final_views: float             # day-30 views on TikTok (and latent reach on Instagram)
    tau_days: float                # growth time constant
    rates: dict[str, float] = field(default_factory=dict)
    published_only_as_draft: bool = False


def _choice(rng, values, weights=None):
    values = list(values)
    if weights is None:
        return values[rng.integers(len(values))]
    weights = np.asarray(weights, dtype=float)
    return values[rng.choice(len(values), p=weights / weights.sum())]


HOOK_TEMPLATES = {
    "number_specific": ["{n} {topic} tips I wish I knew sooner", "{n} mistakes parents make with {topic}",
                        "{n} tiny changes that fixed our {topic}"],
    "generic_question": ["Struggling with {topic}?", "Anyone else dealing with {topic}?",
                         "Is {topic} hard for you too?"],
    "controversy_light": ["Unpopular opinion: {topic} doesn't need to be perfect",
                          "Stop doing this during {topic}", "Nobody tells you the truth about {topic}"],
    "how_to": ["How to handle {topic} without yelling", "How to make {topic} easier tonight",
               "How we finally survived {topic}"],
    "statement": ["{Topic} got easier when we changed one thing", "This is what {topic} looks like in our house",
                  "Our {topic} reset, one week in"],
}
CTA_LINES = {
    "save_this": ["Save this for tonight 📌", "Save this so you have it when you need it"],
    "comment": ["Comment SLEEP and I'll send you the checklist", "Tell me in the comments what works for you"],
    "follow": ["Follow for more gentle parenting tips", "Follow along for part 2"],
    "share": ["Send this to a tired parent friend", "Share this with your partner"],
    "none": [""],
}
BODY_LINES = ["We tried everything before this clicked.", "Gentle, simple and it actually works.",
              "Real life with little kids, no perfection required.", "Took us a month to figure this out."]


def _hook(rng, style: str, topic: str) -> str:
    template = _choice(rng, HOOK_TEMPLATES[style])
    return template.format(n=int(rng.integers(3, 9)), topic=topic, Topic=topic[:1].upper() + topic[1:])


def _slides(fmt: str, hook: str, count: int, topic: str) -> list[str]:
    body = {"step_guide": "Step {i}: ", "habit_list": "Habit {i}: ", "scripts": "Say this: ",
            "boring_habits": "Boring habit #{i}: ", "how_to": "Tip {i}: "}[fmt]
    return [hook] + [body.format(i=i) + f"something that helps with {topic}" for i in range(1, count)]


def _multiplier(post_fields: dict, account: str, truth: Truth) -> float:
    m = dict(truth.format_views).get(post_fields["format"], 1.0)
    m *= dict(truth.hook_views).get(post_fields["hook_style"], 1.0)
    m *= dict(truth.pillar_views).get(post_fields["pillar"], 1.0)
    m *= truth.slides_8_plus if post_fields["slide_count"] >= 8 else 1.0
    if truth.account_pillar and (account, post_fields["pillar"]) == truth.account_pillar[:2]:
        m *= truth.account_pillar[2]
    m *= truth.evening if 18 <= post_fields["local_hour"] <= 21 else 1.0
    m *= truth.hook_score_step ** (post_fields["hook_score"] - 10)
    return m


def plan_account(spec: AccountSpec, start: date, days: int, rng, null: bool,
                 truth: Truth | None = None) -> list[PlannedPost]:
    """The account's posts; null=True plants nothing and posts every format evenly."""
    truth = NO_EFFECTS if null else (truth or DEMO_TRUTH)
    tz = ZoneInfo(spec.timezone)
    posts: list[PlannedPost] = []
    formats = list(FORMATS)
    for day_index in range(days):
        day = start + timedelta(days=day_index)
        n_today = _choice(rng, [0, 1, 2], [0.1, 0.75, 0.15])
        for slot in range(n_today):
            posts.append(_plan_post(spec, tz, day, slot, day_index, days, formats, rng, null, truth))
    return posts


def _pick_format(spec, formats, day_index, days, rng, null):
    choices = list(formats)
    if not null and spec.dropped_format and day_index >= days - 30:
        choices.remove(spec.dropped_format)
    weights = [1.0] * len(choices)
    if not null and spec.format_bias in choices:
        weights[choices.index(spec.format_bias)] = 0.55 / 0.45 * (len(choices) - 1)
    return _choice(rng, choices, weights)


def _plan_post(spec, tz, day, slot, day_index, days, formats, rng, null, truth: Truth) -> PlannedPost:
    pillar = _choice(rng, spec.pillars)
    topic = _choice(rng, PILLARS[pillar][1])
    fmt = _pick_format(spec, formats, day_index, days, rng, null)
    style = _choice(rng, HOOK_STYLES)
    cta = _choice(rng, CTAS)
    slide_count = int(rng.integers(4, 11))
    local_hour = int(_choice(rng, range(7, 22)))
    local = datetime(day.year, day.month, day.day, local_hour, int(rng.integers(0, 60)), tzinfo=tz)
    hook_score = float(np.clip(rng.normal(11, 3.5), 0, 20)).__round__(1)
    hook = _hook(rng, style, topic)
    caption = "\n\n".join(line for line in [hook, _choice(rng, BODY_LINES), _choice(rng, CTA_LINES[cta]),
                                            f"#parenting #{pillar.replace('_', '')} #momlife"] if line)
    fields = {"format": fmt, "hook_style": style, "slide_count": slide_count, "pillar": pillar,
              "local_hour": local_hour, "hook_score": hook_score}
    noise = float(np.exp(rng.normal(0, truth.noise_sd)))
    viral = 12.0 if rng.random() < truth.viral_share else 1.0
    final_views = spec.base_views * _multiplier(fields, spec.name, truth) * noise * viral
    long_tail = fmt == truth.long_tail_format
    tau = float(rng.uniform(12, 20)) if long_tail else float(rng.uniform(0.8, 2.5))
    save_rate = 0.012 * (truth.save_cta[1] if cta == truth.save_cta[0] else 1.0)
    share_rate = 0.004 * (truth.share_cta[1] if cta == truth.share_cta[0] else 1.0)
    jitter = lambda: float(np.exp(rng.normal(0, 0.25)))  # noqa: E731 - per-post rate noise
    rates = {"like": float(rng.uniform(0.04, 0.09)), "comment": 0.004 * jitter(),
             "share": share_rate * jitter(), "save": save_rate * jitter()}
    published_utc = local.astimezone(timezone.utc)
    handmade = rng.random() < 0.05
    both = rng.random() < 0.8
    platforms = ("tiktok", "instagram") if both else (_choice(rng, ["tiktok", "instagram"]),)
    published = {p: published_utc + timedelta(minutes=int(rng.integers(0, 90)) if p == "instagram" else 0)
                 for p in platforms}
    key = f"{day.isoformat()}_{slot + 1}_{topic.replace(' ', '-')}"
    return PlannedPost(
        account=spec.name, key=key, platforms=platforms, published=published,
        generated_at=None if handmade else published_utc - timedelta(hours=float(rng.uniform(2, 40))),
        topic=topic, pillar=pillar, format=fmt, hook_style=style, cta=cta, slide_count=slide_count,
        hook_text=hook, hook_score=hook_score, caption=caption, slides=_slides(fmt, hook, slide_count, topic),
        media="video" if handmade else "carousel", final_views=final_views, tau_days=tau, rates=rates)


def views_at(post: PlannedPost, age_days: float) -> float:
    """Cumulative views at an age: saturating growth with the post's time constant."""
    if age_days <= 0:
        return 0.0
    return post.final_views * (1 - np.exp(-age_days / post.tau_days)) / (1 - np.exp(-30 / post.tau_days))
