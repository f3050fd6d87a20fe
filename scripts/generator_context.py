"""The generator's import path, a contract: `from scripts.generator_context import load_context, ...`.

The code lives in scripts/proposals/generator_context.py; this module keeps the path the content
generator already imports from working."""
from scripts.proposals.generator_context import *  # noqa: F401,F403
from scripts.proposals.generator_context import __all__, __doc__ as _reader_doc  # noqa: F401

__doc__ = f"{__doc__}\n\n{_reader_doc}"
