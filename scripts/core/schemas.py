"""A JSON Schema violation as the one line our error messages quote."""
from __future__ import annotations

import jsonschema


def schema_problem(validator: jsonschema.protocols.Validator, instance, limit: int = 160,
                   pointer: bool = False) -> str | None:
    """The most relevant violation as '<where>: <message>' (the message cut at `limit`), or None if
    the instance is valid. <where> is the path in the document, 'a/0/b' or '(top level)'; with
    pointer=True a JSON pointer, '/a/0/b' (for the contexts, which JSON patches address so)."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    path = "/".join(str(p) for p in error.absolute_path)
    where = "/" + path if pointer else path or "(top level)"
    return f"{where}: {error.message[:limit]}"
