"""Text from outside (captions, hooks, Claude's words, API errors) on its way to a terminal or log.

Captions are written by strangers and API errors may quote what was sent, so nothing from
them reaches a terminal as a control sequence (ESC can clear the screen or, with OSC 52, write
the clipboard), and no secret reaches a log.
"""
from __future__ import annotations

import json
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


def tag_safe_json(data, indent: int | None = None, ascii_only: bool = True) -> str:
    """JSON in which no string can open or close a tag: '<', '>' and '&' become \\u escapes, so a
    caption holding '</script>' stays a string inside an HTML <script>, and cannot close a block
    of a prompt. ensure_ascii (the default) escapes U+2028/9 too. json.loads and JSON.parse read
    it back unchanged."""
    separators = (",", ":") if indent is None else None
    text = json.dumps(data, ensure_ascii=ascii_only, indent=indent, separators=separators)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
