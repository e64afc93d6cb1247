"""Demo landing files with the counts the pipeline must produce from them (`make demo`)."""

from .cli import main
from .landing import generate_landing
from .manifest import DayExpectation, DemoManifest

__all__ = ["DayExpectation", "DemoManifest", "generate_landing", "main"]
