"""A JSON Schema violation as the one line our error messages quote."""
from __future__ import annotations

import json

import fastjsonschema
import jsonschema

from scripts.core.workspace import SCHEMA_DIR


# Keywords that mean the same in Draft 2020-12 (our schemas' draft) and Draft 7 (fastjsonschema's
# newest): a schema that uses only these is checked first by its compiled form (scripts/core/schemas.py,
# Checker). One with any other keyword (prefixItems, say, which Draft 7 would ignore) is not.
SAME_IN_DRAFT_7 = frozenset({
    "$schema", "$id", "$defs", "$ref", "$comment", "title", "description", "default", "examples",
    "type", "enum", "const", "properties", "required", "additionalProperties", "propertyNames",
    "minProperties", "maxProperties", "items", "minItems", "maxItems", "uniqueItems", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "format",
    "allOf", "anyOf", "oneOf", "not", "if", "then", "else"})


# keys whose value is data, not a schema: never searched for keywords or references
_DATA_KEYS = ("const", "enum", "default", "examples")
# what may stand beside a "$ref" and mean the same in both drafts: notes, not rules
_REF_AND_NOTES = {"$ref", "description", "title", "$comment"}


class Checker:
    """A schema's check. jsonschema (Draft 2020-12) is the judge and words the reason. Where the
    schema uses only SAME_IN_DRAFT_7's keywords and no $ref beside other rules (ref_with_siblings),
    the same schema compiled to Python by fastjsonschema says first whether a document is valid:
    50 times faster (the readers of the insights files checked 51 of them in 1.7 s), and no more
    lenient (it checks formats too, and its `$` matches only at the very end), so a document it
    refuses is checked again by jsonschema, which accepts what it accepts."""

    def __init__(self, schema: dict, fast: bool = True):
        """fast=False: without the compiled first check, for a schema made for one document, where
        compiling costs more than it saves."""
        self.judge = jsonschema.Draft202012Validator(inlined(schema))
        same = keywords(schema) <= SAME_IN_DRAFT_7 and not ref_with_siblings(schema)
        self._fast = fastjsonschema.compile(schema) if fast and same else None

    def passes_fast(self, instance) -> bool:
        if self._fast is None:
            return False
        try:
            self._fast(instance)
            return True
        except Exception:  # refused, or a value it cannot handle: jsonschema decides
            return False


def keywords(schema) -> set[str]:
    """Every keyword a schema uses (the names under properties and $defs are not keywords)."""
    found: set[str] = set()
    stack = [(schema, None)]
    while stack:
        node, parent = stack.pop()
        if isinstance(node, list):
            stack += [(item, None) for item in node]
        elif isinstance(node, dict):
            for key, value in node.items():
                if parent in ("properties", "$defs", "patternProperties"):
                    stack.append((value, None))
                    continue
                found.add(key)
                if key not in _DATA_KEYS:
                    stack.append((value, key))
    return found


def ref_with_siblings(schema) -> bool:
    """Whether a "$ref" stands beside other rules ({"$ref": ..., "enum": [...]}): Draft 2020-12
    applies both, Draft 7 ignores the siblings, so its compiled check would be more lenient."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack += node
        elif isinstance(node, dict):
            if "$ref" in node and set(node) - _REF_AND_NOTES:
                return True
            stack += [value for key, value in node.items() if key not in _DATA_KEYS]
    return False


def schema_problem(checker: Checker, instance, limit: int = 160, pointer: bool = False) -> str | None:
    """The most relevant violation as '<where>: <message>' (the message cut at `limit`), or None if
    the instance is valid. <where> is the path in the document, 'a/0/b' or '(top level)'; with
    pointer=True a JSON pointer, '/a/0/b' (for the contexts, which JSON patches address so)."""
    if checker.passes_fast(instance):
        return None
    error = jsonschema.exceptions.best_match(checker.judge.iter_errors(instance))
    if error is None:
        return None
    path = "/".join(str(p) for p in error.absolute_path)
    where = "/" + path if pointer else path or "(top level)"
    return f"{where}: {error.message[:limit]}"


def inlined(schema: dict) -> dict:
    """The schema with each local "$ref": "#/$defs/<name>" written in place of the reference (where
    it stands alone and is not recursive): the same rules, checked without resolving a reference at
    every instance, which was a third of the checking time of a large file."""
    defs = schema.get("$defs") or {}

    def resolve(node, seen: frozenset):
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and set(node) <= _REF_AND_NOTES:
            name = ref[len("#/$defs/"):]
            if name in defs and name not in seen:
                return resolve(defs[name], seen | {name})
        return {key: value if key in _DATA_KEYS else resolve(value, seen)
                for key, value in node.items()}

    return resolve(schema, frozenset())


INSIGHTS_SCHEMA = json.loads((SCHEMA_DIR / "insights.schema.json").read_text())
INSIGHTS_VALIDATOR = Checker(INSIGHTS_SCHEMA)   # analyze's output, and every reader's input
