"""Text from outside (captions, hooks, Claude's words, API errors) on its way to a terminal or log.

Captions are written by strangers and API errors may quote what was sent, so nothing from
them reaches a terminal as a control sequence (ESC can clear the screen or, with OSC 52, write
the clipboard), and no secret reaches a log.
"""
from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, and the C1 controls (ESC, CSI, OSC live here)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """The text with every terminal control character removed; tabs and newlines kept."""
    return CONTROL_CHARS.sub("", str(text))


def scrub(text: str, *secrets: str | None) -> str:
    """The text with each (non-empty) secret replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
