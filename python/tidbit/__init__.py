"""Tidbit for Python: the generated bindings (`tidbit.tidbit_ffi`, re-exported here) and the
L&D tools built on them (`tidbit.imports`, `tidbit.reports`).

The package holds no learning logic of its own: every decision is the Rust core's, reached
through the same calls the Android and iOS apps make.
"""

from .tidbit_ffi import *  # noqa: F401,F403  (the bindings are the package's API)
from .tidbit_ffi import __all__ as _bindings
from .imports import import_packs
from .reports import progress_report

__all__ = [*_bindings, "import_packs", "progress_report"]
