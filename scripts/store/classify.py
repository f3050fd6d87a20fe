"""Text classes for a post: hook style, call to action and content pillar.

The single source of truth for the hook-style and CTA vocabularies (the demo world, the analyzer
and the recommender import them from here). Rules are plain regular expressions, tried in a
fixed order; the first rule that fires wins. docs/backfill.md has them as a table.
"""
from __future__ import annotations

import re

HOOK_STYLES = ("number_specific", "generic_question", "controversy_light", "how_to", "statement")
CTAS = ("save_this", "comment", "follow", "share", "none")

# --- hooks ---------------------------------------------------------------------------------
# A child's age ("my 3 year old", "18-month-old", "2yo") is context, not a specific promise.
AGE = re.compile(r"\b\d+\s*-?\s*(?:years?|yrs?|months?|mos?|weeks?|wks?|days?)\s*-?\s*olds?\b"
                 r"|\b\d+\s*(?:yo|y/o|mo)\b", re.IGNORECASE)
DIGIT = re.compile(r"\d")
# "one" is left out on purpose: "one thing", "one week in" read as plain statements
NUMBER_WORD = re.compile(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
                         r"twenty|thirty|fifty|hundred|dozen)\b", re.IGNORECASE)

HOW_TO = re.compile(r"\bhow to\b|^\W*how (?:i|we|my|our)\b|\bhere'?s how\b|\bthis is how\b|"
                    r"\bwhat to (?:do|say|try|pack|feed|expect)\b|\b(?:easiest|best|only|simplest|"
                    r"fastest|gentlest) way to\b|\bstep[- ]by[- ]step\b|\bguide to\b",
                    re.IGNORECASE)
CONTROVERSY = re.compile(r"\bunpopular opinion\b|\bhot take\b|\bcontroversial\b|\bhard truth\b|"
                         r"\b(?:nobody|no one|no-one)\b.*\b(?:tells?|talks?|talking|warns?|admits?|says?)\b|"
                         r"\btruth about\b|\bmyths?\b|\boverrated\b|\bscam\b|\blies\b|\blied\b|"
                         r"^\W*(?:please\W+)?(?:stop|quit)\b|\bstop (?:doing|saying|telling|letting|"
                         r"making|giving|using|forcing|asking|buying)\b|\bi (?:stopped|quit|refuse)\b|"
                         r"^\W*(?:don'?t|do not|never)\b|\bdoing\b.{0,30}\bwrong\b|"
                         r"\b(?:is|are|got it|all) wrong\b|\bmistakes?\b|\bi don'?t care\b|"
                         r"\bnot sorry\b|\bsorry,? but\b", re.IGNORECASE)
QUESTION_START = re.compile(r"^\W*(?:anyone else|is it just me|who else|does anyone|am i the only)\b",
                            re.IGNORECASE)


def _plain(text: str) -> str:
    """Typographic apostrophes as plain ones, so "don’t" reads like "don't"."""
    return text.strip().replace("\u2019", "'").replace("\u2018", "'")


def _has_count(text: str) -> bool:
    without_ages = AGE.sub(" ", text)
    return bool(DIGIT.search(without_ages) or NUMBER_WORD.search(without_ages))


def _is_question(text: str) -> bool:
    return "?" in text or bool(QUESTION_START.search(text))


# (style, test) in precedence order; "statement" is what is left
HOOK_RULES = (
    ("number_specific", _has_count),
    ("how_to", lambda text: bool(HOW_TO.search(text))),
    ("controversy_light", lambda text: bool(CONTROVERSY.search(text))),
    ("generic_question", _is_question),
)


def hook_style(hook: str | None) -> str | None:
    """The hook's style, or None when there is no hook text at all."""
    if not hook or not hook.strip():
        return None
    text = _plain(hook)
    for style, test in HOOK_RULES:
        if test(text):
            return style
    return "statement"


# --- calls to action -----------------------------------------------------------------------
CTA_RULES = (
    ("save_this", re.compile(r"\b(?:save|bookmark|pin)\s+(?:this|it|these|for|til|till|until)\b|"
                             r"\b(?:hit|tap|press)\s+(?:the\s+)?(?:save|bookmark)\b|📌|🔖",
                             re.IGNORECASE)),
    ("share", re.compile(r"\b(?:share|send|forward)\s+(?:this|it|these|with)\b|\brepost\b|"
                         r"\btag\s+(?:a|an|your|someone|the|them|every)\b", re.IGNORECASE)),
    ("comment", re.compile(r"\bcomments?\b|\b(?:tell|let) me (?:know|below|in|what|which|how|if)\b|"
                           r"\bdrop (?:a|an|your)\b|\b(?:reply|answer) below\b|\bdm me\b|👇",
                           re.IGNORECASE)),
    ("follow", re.compile(r"\bfollow\s+(?:for|along|me|us|@|to)|\b(?:hit|smash|tap)\s+(?:that\s+|the\s+)?"
                          r"follow\b|\bstay tuned\b", re.IGNORECASE)),
)
TAG_ONLY = re.compile(r"^(?:[#@][\w.]+[\s,]*)+$")
CTA_LINES = 3  # a CTA sits in the caption's last lines


def caption_lines(caption: str | None) -> list[str]:
    """Non-empty lines that are not just hashtags or mentions."""
    lines = [line.strip() for line in (caption or "").splitlines()]
    return [line for line in lines if line and not TAG_ONLY.match(line)]


def first_line(caption: str | None) -> str | None:
    lines = caption_lines(caption)
    return lines[0] if lines else None


def cta(caption: str | None) -> str:
    """The caption's call to action. The first line is the hook, so it is read only when it is the
    whole caption; an audience question on the last line counts as asking for comments."""
    lines = caption_lines(caption)
    tail = (lines[1:] if len(lines) > 1 else lines)[-CTA_LINES:]
    text = _plain("\n".join(tail))
    for name, pattern in CTA_RULES:
        if pattern.search(text):
            return name
    if len(lines) > 1 and tail[-1].rstrip(" 🙏💛❤️✨").endswith("?"):
        return "comment"
    return "none"


# --- content pillars -----------------------------------------------------------------------
SUFFIXES = r"(?:s|es|ing|ed|er|ers|y|ies|ly)?"


def keyword_regex(keyword: str) -> str:
    """A keyword as a word with common English endings (nap -> naps, napping), or as the start of a
    hashtag (#sleeproutines counts for 'sleep')."""
    words = r"\s+".join(re.escape(part) for part in keyword.split())
    doubled = re.escape(keyword[-1]) + "?" if keyword[-1:].isalpha() else ""
    plural_y = f"|{re.escape(keyword[:-1])}ies" if keyword.endswith("y") else ""
    hashtag = "".join(re.escape(part) for part in keyword.split())
    return rf"(?<!\w)(?:{words}{doubled}{SUFFIXES}{plural_y})(?!\w)|#{hashtag}\w*"


class PillarMatcher:
    """Maps text to one of the account's content pillars (names come only from its config)."""

    def __init__(self, pillars: dict[str, list[str]]):
        self.patterns = {name: re.compile("|".join(keyword_regex(k) for k in keywords), re.IGNORECASE)
                         for name, keywords in pillars.items()}

    def hits(self, text: str | None) -> dict[str, int]:
        text = text or ""
        return {name: len(pattern.findall(text)) for name, pattern in self.patterns.items()}

    def pillar(self, topic: str | None, caption: str | None) -> str | None:
        """Most keyword hits in the topic; the caption breaks ties and stands in when the topic has
        none; a remaining tie goes to the pillar listed first in the config."""
        by_topic = self.hits(topic)
        top = max(by_topic.values(), default=0)
        leaders = [name for name, hits in by_topic.items() if hits == top]
        if top and len(leaders) == 1:
            return leaders[0]  # the topic decides; the caption is not needed
        by_caption = self.hits(caption)
        best = max(leaders, key=lambda name: by_caption[name], default=None)  # first of equals wins
        return best if best is not None and (top or by_caption[best]) else None
