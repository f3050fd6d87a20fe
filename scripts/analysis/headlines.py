"""Plain-language headlines for findings and proposals, and the one glossary of metric labels.

A headline is what an account manager reads first: "On TikTok, step-by-step guides get about 2x
the views after 7 days of your other posts (we're confident)". It is built only from a finding's
structured fields (dimension, subject, metric, effect, effect_kind, ci, confidence, direction,
groups, platform, details), never by reading its `claim` sentence, which keeps the numbers for the
details fold. Every function here is pure and total: any dict that matches the insights schema (and
many that do not) gets a sentence, and an effect kind or subject this module does not know yet gets
a careful generic one instead of an error.

METRIC_LABELS is the single source of truth for how a metric or a table column is named on screen;
the report, the dashboard, the charts and the digest import `label()` from here.
"""
from __future__ import annotations

import math
import re

# --- the glossary ---------------------------------------------------------------------------

METRIC_LABELS = {
    # the analyzer's metrics
    "views_d7": "views after 7 days",
    "likes_d7": "likes after 7 days",
    "comments_d7": "comments after 7 days",
    "saves_d7": "saves after 7 days",
    "shares_d7": "shares after 7 days",
    "engagement_rate_d7": "engagement rate after 7 days",
    "saves_per_view_d7": "saves per view after 7 days",
    "shares_per_view_d7": "shares per view after 7 days",
    "views_d7_lift": "views after 7 days, against the account's usual",
    "likes_d7_lift": "likes after 7 days, against the account's usual",
    "share_of_engagement": "share of engagement",
    "share_of_posts": "share of posts",
    "days_since_last_post": "days since the last post",
    "save_lean_d7": "saves against shares after 7 days",
    # the canned queries' columns (sql/queries/), as the report, dashboard and charts show them
    "account_name": "account",
    "platform": "platform",
    "posts": "posts",
    "total_posts": "posts",
    "posts_d7": "posts 7+ days old",
    "followers": "followers",
    "published": "published",
    "published_local": "published (local time)",
    "format": "format",
    "content_pillar": "topic",
    "hook_style": "hook style",
    "hook_text": "hook",
    "hook_score": "hook score",
    "cta": "call to action",
    "slides": "slides",
    "views": "views (latest)",
    "likes": "likes (latest)",
    "comments": "comments (latest)",
    "saves": "saves (latest)",
    "shares": "shares (latest)",
    "age_days": "age (days)",
    "text": "hook (or caption)",
    "caption": "caption",
    "post_url": "link",
    "avg_views_d7": "average views after 7 days",
    "avg_likes_d7": "average likes after 7 days",
    "avg_views": "average views",
    "avg_likes": "average likes",
    "median_views_d7": "median views after 7 days",
    "median_likes_d7": "median likes after 7 days",
    "engagement_pct_d7": "engagement after 7 days, % of views",
    "engagement_pct": "engagement, % of views",
    "saves_per_1k_views": "saves per 1,000 views",
    "shares_per_1k_views": "shares per 1,000 views",
    "growth_pct": "follower growth, %",
    "lift": "against the account's usual",
    "last_scrape": "last scrape",
}
# words for the levels the analyzer names in snake_case; anything else: underscores to spaces
LEVEL_WORDS = {
    "step_guide": "step-by-step guides",
    "habit_list": "habit lists",
    "scripts": "scripts posts",
    "boring_habits": "boring-habits posts",
    "how_to": "how-to posts",
    "save_this": "save this",
    "save_driven": "save-driven",
    "share_driven": "share-driven",
}
# hook styles read as an adjective ("posts with a generic-question hook")
HOOK_WORDS = {"number_specific": "specific-number", "generic_question": "generic-question",
              "controversy_light": "mildly controversial", "how_to": "how-to", "statement": "plain-statement"}
PLATFORM_WORDS = {"tiktok": "TikTok", "instagram": "Instagram"}
CONFIDENCE_TAGS = {"high": "we're confident", "medium": "probably, worth a test", "low": "too few posts to tell"}
RATIO_KINDS = ("ratio_of_medians", "adjusted_ratio", "ratio", "rate_ratio")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _words(value) -> str:
    text = str(value).strip()
    return text.replace("_", " ") if text else "something"


def level_words(value) -> str:
    """A level the analyzer names (step_guide) in words (step-by-step guides)."""
    return LEVEL_WORDS.get(str(value), _words(value))


def hook_words(value) -> str:
    return HOOK_WORDS.get(str(value), _words(value))


def label(name) -> str:
    """How a metric or column is named on screen: the glossary, then the families it knows
    (late_share_d3_d21, *_d7, *_lift), then underscores to spaces."""
    name = str(name)
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    late = re.fullmatch(r"late_share_d(\d+)_d(\d+)", name)
    if late:
        return f"share of day-{late[2]} numbers that came after day {late[1]}"
    if name.startswith("late_share"):
        return "share of the numbers that came late"
    if name.endswith("_lift"):
        return f"{label(name[:-5])}, against the account's usual"
    day = re.fullmatch(r"(.+)_d(\d+)", name)
    if day:
        return f"{_words(day[1])} after {day[2]} days"
    return _words(name)


def base_metric(metric) -> str:
    """The count a metric is about, for a sentence: views_d7_lift -> views after 7 days."""
    metric = str(metric)
    return label(metric[:-5] if metric.endswith("_lift") else metric)


# --- numbers in words -------------------------------------------------------------------------

def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def readable(value) -> str:
    """About two significant figures, thousands separated: 2370 -> 2,400; 0.37 -> 0.37."""
    value = _number(value)
    if value is None:
        return "-"
    if value == 0:
        return "0"
    digits = 1 - int(math.floor(math.log10(abs(value))))
    rounded = round(value, digits)
    return f"{rounded:,.{digits}f}" if digits > 0 else f"{int(rounded):,}"


def percent(value) -> str:
    """A 0..1 share as a percentage: 0.4719 -> 47%; tiny shares keep a decimal (0.8%)."""
    value = _number(value)
    if value is None:
        return "-"
    pct = value * 100
    return f"{pct:.1f}%" if 0 < abs(pct) < 1 else f"{pct:.0f}%"


def times(ratio: float) -> str:
    """A ratio above 1 as a multiplier a person says: 1.26 -> 1.3x, 2.2 -> 2x, 2.7 -> 2.5x."""
    if ratio < 1.95:
        return f"{ratio:.1f}×"
    if ratio < 10:
        half = round(ratio * 2) / 2
        return f"{half:g}×"
    return f"{ratio:,.0f}×"


def ratio_words(ratio: float) -> str:
    """'about 2× the', 'about 40% fewer', 'less than half the': the ratio of one group to another."""
    if ratio >= 1.15:
        return f"about {times(ratio)} the"
    if ratio > 0.87:
        return "about the same"
    if ratio >= 0.45:
        if ratio <= 0.55:
            return "about half the"
        return f"about {round((1 - ratio) * 20) * 5}% fewer"
    if ratio >= 0.3:
        return "less than half the"
    return f"about {times(1 / ratio) if ratio > 0 else 'many times'} fewer"


# --- what a finding is about ------------------------------------------------------------------

def _subject(finding: dict | None) -> dict:
    subject = finding.get("subject") if isinstance(finding, dict) else None
    return subject if isinstance(subject, dict) else {}


def _details(finding: dict) -> dict:
    details = finding.get("details")
    return details if isinstance(details, dict) else {}


def _scalar(subject: dict, key: str) -> bool:
    """Whether subject[key] is a name or number a sentence can use."""
    value = subject.get(key)
    return (isinstance(value, str) and bool(value.strip())) or _number(value) is not None


def _listed(subject: dict, key: str) -> bool:
    value = subject.get(key)
    return isinstance(value, list) and bool(value) and all(isinstance(v, (str, int)) for v in value)


def _count(value) -> int | None:
    """A whole number of something (slides, a weekday), or None."""
    value = _number(value)
    return int(value) if value is not None and abs(value) < 10**6 else None


def _hours(value) -> str | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_count(v) is not None for v in value):
        start, end = (_count(v) % 24 for v in value)
        return f"{start:02d}:00–{end:02d}:59"
    return None


def _names(value) -> str:
    items = [level_words(v) for v in value] if isinstance(value, (list, tuple)) else [level_words(value)]
    items = [i for i in items if i] or ["these"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def subject_words(finding: dict) -> str:
    """The posts a finding is about, as the subject of a sentence: 'step-by-step guides',
    'posts with 8+ slides', 'posts published 18:00–21:59'."""
    subject = _subject(finding)
    if _scalar(subject, "format"):
        return level_words(subject["format"])
    if _scalar(subject, "content_pillar"):
        return f"posts about {level_words(subject['content_pillar'])}"
    if _scalar(subject, "hook_style"):
        return f"posts with a {hook_words(subject['hook_style'])} hook"
    if _scalar(subject, "cta"):
        return f"posts ending with the \"{level_words(subject['cta'])}\" call to action"
    if _count(subject.get("slide_count_min")) is not None:
        return f"posts with {_count(subject['slide_count_min'])}+ slides"
    if _count(subject.get("slide_count")) is not None:
        return f"posts with {_count(subject['slide_count'])} slides"
    if _hours(subject.get("local_hour_range")):
        return f"posts published {_hours(subject['local_hour_range'])} local time"
    if _scalar(subject, "weekday"):
        day = subject["weekday"]
        day = WEEKDAYS[int(day) % 7] if _count(day) is not None else _words(day).capitalize()
        return f"posts published on {day}"
    if "hook_score" in subject:
        return "posts with stronger hooks"
    if "posts_per_7_days" in subject:
        return "posting more often"
    if _listed(subject, "formats"):
        return _names(subject["formats"])
    if _listed(subject, "content_pillars"):
        return f"posts about {_names(subject['content_pillars'])}"
    for key, value in subject.items():  # a subject this module does not know: its first field
        if key != "accounts" and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return f"posts with {_words(key)} {level_words(value)}"
    groups = _groups(finding)
    return f"posts in \"{_words(groups[0][0])}\"" if groups else "these posts"


def _groups(finding: dict) -> list[tuple[str, int | None]]:
    groups = finding.get("groups")
    out = []
    for g in groups if isinstance(groups, list) else []:
        if isinstance(g, dict):
            n = g.get("n")
            out.append((str(g.get("name", "")), int(n) if isinstance(n, int) and not isinstance(n, bool) else None))
    return out


def comparison_words(finding: dict) -> str:
    """What the subject is compared with, from the second group's name."""
    groups = _groups(finding)
    other = groups[1][0].strip().lower() if len(groups) > 1 else ""
    subject = _subject(finding)
    if finding.get("dimension") == "cross_account" or str(finding.get("metric", "")).endswith("_lift"):
        return "other posts in the same account"
    if "slide_count_min" in subject or other.startswith("under "):
        return "posts with fewer slides"
    if "no cta" in other:
        return "posts without a call to action"
    if other.startswith("other "):
        words = other[len("other "):]
        if words in ("formats", "posts", "pillars", "hook styles", "time blocks", "weekdays", "ctas",
                     "slide counts"):
            return {"formats": "your other posts", "posts": "your other posts", "pillars": "posts on other topics",
                    "hook styles": "posts with other hooks", "time blocks": "posts at other times",
                    "weekdays": "posts on other days", "ctas": "posts with other calls to action",
                    "slide counts": "posts with other slide counts"}[words]
        return f"your other {words}"
    if other and other not in ("rest", "the rest"):
        return f"{_words(other)} posts" if "post" not in other else _words(other)
    return "your typical post" if len(groups) < 2 else "your other posts"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _on_platform(finding: dict) -> str:
    platform = PLATFORM_WORDS.get(finding.get("platform"))
    where = f"On {platform}, " if platform else ""
    if finding.get("dimension") == "cross_account":
        where = f"Across your accounts{' on ' + platform if platform else ''}, "
    return where


def _sample(finding: dict) -> str:
    ns = [n for _, n in _groups(finding) if n is not None]
    if not ns:
        return ""
    return f"{ns[0]} posts" if len(ns) == 1 else f"{ns[0]} vs {ns[1]} posts"


def confidence_tag(finding: dict) -> str:
    """The phrase in brackets at the end of a headline; low confidence names the sample."""
    level = finding.get("confidence")
    tag = CONFIDENCE_TAGS.get(level, CONFIDENCE_TAGS["low"])
    sample = _sample(finding)
    return f"{tag}: {sample}" if level not in ("high", "medium") and sample else tag


def _verb(finding: dict, plain: str, hedged: str | None = None) -> str:
    """'get' (high), 'likely get' (medium), 'may get' (low); 'are', 'are likely', 'may be'."""
    level = finding.get("confidence")
    if level == "high":
        return plain
    if plain == "are":
        return "are likely" if level == "medium" else "may be"
    return f"likely {plain}" if level == "medium" else f"may {hedged or plain}"


# --- one sentence per kind of effect ----------------------------------------------------------

def _ratio_sentence(finding: dict, ratio: float) -> str:
    who, metric, other = subject_words(finding), base_metric(finding.get("metric", "")), comparison_words(finding)
    words = ratio_words(ratio)
    if words == "about the same":
        return f"{who} {_verb(finding, 'get', 'get')} about the same {metric} as {other}"
    if words.endswith("fewer"):
        return f"{who} {_verb(finding, 'get')} {words} {metric} than {other}"
    return f"{who} {_verb(finding, 'get')} {words} {metric} of {other}"


def _no_difference(finding: dict) -> str:
    return (f"No clear difference yet between {subject_words(finding)} and {comparison_words(finding)} "
            f"in {base_metric(finding.get('metric', ''))}")


def _odds_sentence(finding: dict, effect: float | None) -> str:
    details = _details(finding)
    worst, rest = _number(details.get("share_in_worst")), _number(details.get("share_in_rest"))
    who, metric = subject_words(finding), base_metric(finding.get("metric", ""))
    if worst is not None and rest is not None:
        return (f"{_capital(who)} {_verb(finding, 'are', 'be')} common among your weakest posts by {metric}: "
                f"{percent(worst)} of the worst fifth, against {percent(rest)} of the others")
    if effect is not None and effect > 0:
        side = "weakest" if effect >= 1 else "strongest"
        return f"{_capital(who)} {_verb(finding, 'show', 'show')} up more among your {side} posts by {metric}"
    return f"{_capital(who)}: a pattern among your weakest posts by {metric}"


def _rho_sentence(finding: dict, rho: float | None) -> str:
    who, metric = subject_words(finding), base_metric(finding.get("metric", ""))
    if finding.get("direction") == "none" or rho is None or abs(rho) < 0.05:
        return f"No clear link yet between {who} and {metric}"
    more = "more" if rho > 0 else "fewer"
    verb = "goes" if who.startswith("posting") else "go"
    return f"{_capital(who)} {_verb(finding, verb, 'go')} with {more} {metric}"


def _share_sentence(finding: dict, share: float | None) -> str:
    metric = str(finding.get("metric", ""))
    who = subject_words(finding)
    details = _details(finding)
    if metric == "share_of_posts":
        window = _number(details.get("window_days"))
        when = f"the last {int(window)} days'" if window else "your recent"
        if share is None:
            return f"{_capital(who)}: how much of {when} posts they make up"
        more = " more than an even mix" if finding.get("direction") == "worse" else ""
        return f"{_capital(who)} {_verb(finding, 'are', 'be')} {percent(share)} of {when} posts,{more}".rstrip(",")
    groups = _groups(finding)
    total = sum(n for _, n in groups if n is not None)
    of_posts = percent(groups[0][1] / total) if groups and groups[0][1] is not None and total else None
    what = base_metric(metric)
    if share is None:
        return f"{_capital(who)}: their {what}"
    tail = f" from {of_posts} of your posts" if of_posts else ""
    if finding.get("direction") == "none":
        return f"No clear 80/20 pattern yet: {who} bring {percent(share)} of your engagement{tail}"
    return f"{_capital(who)} {_verb(finding, 'bring')} {percent(share)} of your engagement{tail}"


def _days_sentence(finding: dict, days: float | None) -> str:
    subject = _subject(finding)
    details = _details(finding)
    what = level_words(next(iter(subject.values()))) if subject and isinstance(
        next(iter(subject.values())), (str, int)) else subject_words(finding)
    earlier = _number(details.get("earlier_share"))
    since = f"in {int(days)} days" if days is not None else "lately"
    tail = f", though they were {percent(earlier)} of your earlier posts" if earlier is not None else ""
    return f"You have not posted {what} {since}{tail}"


def _late_sentence(finding: dict, difference: float | None) -> str:
    details = _details(finding)
    median, rest = _number(details.get("median")), _number(details.get("median_rest"))
    who, metric = subject_words(finding), str(finding.get("metric", ""))
    late = re.fullmatch(r"late_share_d(\d+)_d(\d+)", metric)
    after = f"after day {late[1]}" if late else "late"
    if median is not None and rest is not None and 0 <= median <= 1 and 0 <= rest <= 1:
        return (f"{_capital(who)} {_verb(finding, 'keep', 'keep')} growing {after}: {percent(median)} of their "
                f"numbers come then, against {percent(rest)} for {comparison_words(finding)}")
    if difference is not None:
        more = "more" if difference > 0 else "less"
        return f"{_capital(who)} {_verb(finding, 'keep', 'keep')} growing {more} {after} than {comparison_words(finding)}"
    return f"{_capital(who)}: how their numbers grow {after}"


def _spread_sentence(finding: dict) -> str:
    subject = _subject(finding)
    named = subject.get("accounts") if isinstance(subject.get("accounts"), list) else []
    standouts = [name for name in named if isinstance(name, str) and name]   # a file may hold anything here
    who = subject_words(finding)
    tail = f"; {', '.join(standouts)} stands out" if standouts else ""
    return f"How {who} do {_verb(finding, 'differs', 'differ')} between accounts{tail}"


def _association_sentence(finding: dict) -> str:
    subject = _subject(finding)
    if "post_types" in subject:
        return f"The call to action {_verb(finding, 'changes', 'change')} whether posts get saved or shared"
    return f"{_capital(subject_words(finding))} {_verb(finding, 'go', 'go')} with a different {base_metric(finding.get('metric', ''))}"


def _generic_sentence(finding: dict) -> str:
    who, metric = subject_words(finding), base_metric(finding.get("metric", ""))
    direction = finding.get("direction")
    if direction == "better":
        return f"{_capital(who)} {_verb(finding, 'do', 'do')} better on {metric}"
    if direction == "worse":
        return f"{_capital(who)} {_verb(finding, 'do', 'do')} worse on {metric}"
    return f"No clear difference yet for {who} in {metric}"


def _sentence(finding: dict) -> str:
    kind = str(finding.get("effect_kind") or "")
    effect = _number(finding.get("effect"))
    if kind in RATIO_KINDS or (kind.endswith("ratio") and kind != "odds_ratio"):
        if effect is None or effect <= 0:
            return _generic_sentence(finding)
        ci = finding.get("ci")
        crosses = isinstance(ci, list) and len(ci) == 2 and all(_number(v) is not None for v in ci) \
            and ci[0] <= 1 <= ci[1]
        if finding.get("direction") == "none" and (crosses or finding.get("confidence") == "low"):
            return _no_difference(finding)
        return _ratio_sentence(finding, effect)
    if kind == "odds_ratio":
        return _odds_sentence(finding, effect)
    if kind == "spearman_rho":
        return _rho_sentence(finding, effect)
    if kind == "share":
        return _share_sentence(finding, effect)
    if kind == "days":
        return _days_sentence(finding, effect)
    if kind.startswith("difference") and str(finding.get("metric", "")).startswith("late_share"):
        return _late_sentence(finding, effect)
    if kind == "ratio_spread":
        return _spread_sentence(finding)
    if kind == "cramers_v":
        return _association_sentence(finding)
    return _generic_sentence(finding)


def finding_headline(finding: dict) -> str:
    """One plain sentence for a finding, with how sure we are in brackets. Never raises."""
    if not isinstance(finding, dict):
        return "A finding we cannot read (too few details to tell)"
    sentence, where = _sentence(finding), _on_platform(finding)
    text = where + sentence[:1].lower() + sentence[1:] if where else sentence
    return f"{_capital(text)} ({confidence_tag(finding)})"


# --- proposals --------------------------------------------------------------------------------

def _patch_values(rec: dict, prefix: str) -> dict[str, tuple]:
    """path tail -> (old, new) for the ops of a patch (or the first account's patches) under prefix."""
    patch = rec.get("patch")
    if not isinstance(patch, list) and isinstance(rec.get("patches"), dict):
        patch = next(iter(rec["patches"].values()), [])
    old, new = {}, {}
    for op in patch if isinstance(patch, list) else []:
        if not isinstance(op, dict) or not str(op.get("path", "")).startswith(prefix):
            continue
        key = str(op["path"])[len(prefix):].lstrip("/")
        (old if op.get("op") == "test" else new)[key] = op.get("value")
    return {k: (old.get(k), v) for k, v in new.items()}


def _worse(finding: dict | None) -> bool:
    return isinstance(finding, dict) and finding.get("direction") == "worse"


def proposal_action(rec: dict, finding: dict | None) -> str:
    """What the proposal asks for, as an instruction: 'Make more step-by-step guides'."""
    category = str(rec.get("category", ""))
    subject = _subject(finding)
    weights = _patch_values(rec, "/format_weights")
    slides = _patch_values(rec, "/optimal_slide_count")
    if weights:
        up = [k for k, (old, new) in weights.items() if _number(new) is not None
              and (_number(old) is None or _number(new) > _number(old))]
        down = [k for k in weights if k not in up]
        if up:
            return f"Make more {_names(up)}"
        if down:
            return f"Make fewer {_names(down)}"
    windows = _patch_values(rec, "/posting_windows")
    if windows:
        first = next(iter(windows.values()))[1]
        window = first[0] if isinstance(first, list) and first and isinstance(first[0], dict) else {}
        start, end = _number(window.get("start_hour")), _number(window.get("end_hour"))
        if start is not None and end is not None:
            return f"Post between {int(start):02d}:00 and {int(end):02d}:59 local time"
    if slides:
        target = _number(next(iter(slides.values()))[1])
        if target is not None:
            if _number(subject.get("slide_count_min")) is not None and _worse(finding):
                return f"Keep carousels under {int(_number(subject['slide_count_min']))} slides (aim for {int(target)})"
            return f"Aim for {int(target)} slides a post"
    if "hook_style" in subject:
        style = hook_words(subject["hook_style"])
        return f"Avoid {style} hooks" if _worse(finding) else f"Open with {style} hooks more often"
    if "content_pillar" in subject:
        topic = level_words(subject["content_pillar"])
        return f"Post less about {topic}" if _worse(finding) else f"Post more about {topic}"
    if "cta" in subject:
        return f"End captions with \"{level_words(subject['cta'])}\""
    if "format" in subject:
        fmt = level_words(subject["format"])
        if category == "format_experiment" or finding and finding.get("effect_kind") == "days":
            return f"Bring back {fmt}"
        return f"Make fewer {fmt}" if _worse(finding) else f"Make more {fmt}"
    if "formats" in subject:
        return f"Focus on {_names(subject['formats'])}"
    if "post_types" in subject or category == "save_vs_share":
        return "Pick the call to action by what you want: saves or shares"
    if category == "revert":
        return "Undo an earlier change that did not help"
    return _capital(_words(category)) if category else "A proposal"


def proposal_headline(rec: dict, finding: dict | None) -> str:
    """The proposal in plain words: the instruction, then the reason from its finding. Never raises."""
    if not isinstance(rec, dict):
        return "A proposal we cannot read"
    action = proposal_action(rec, finding)
    if isinstance(finding, dict):
        reason = finding_headline({**finding, "confidence": rec.get("confidence", finding.get("confidence"))})
        return f"{action}: {reason[:1].lower() + reason[1:]}"
    return f"{action} ({CONFIDENCE_TAGS.get(rec.get('confidence'), CONFIDENCE_TAGS['low'])})"
