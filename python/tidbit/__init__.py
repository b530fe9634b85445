"""Tidbit for Python: the generated bindings, re-exported here, and the L&D tools built on them
(`tidbit.imports`, `tidbit.reports`).

The bindings are two generated modules from the one library: `tidbit.tidbit_ffi`, the facade
(`Tidbit`, its configuration, errors and callbacks, the records it converts), and
`tidbit.tidbit_core`, the core's own records and enums that cross unchanged (`SyncReport`,
`SessionPlan`, `Activity`, ...). Import everything from `tidbit`: which module a name comes from is
not part of the API.

The package holds no learning logic of its own: every decision is the Rust core's, reached
through the same calls the Android and iOS apps make.
"""

from .tidbit_core import *  # noqa: F401,F403  (the bindings are the package's API)
from .tidbit_core import __all__ as _core
from .tidbit_ffi import *  # noqa: F401,F403
from .tidbit_ffi import __all__ as _bindings
from .imports import import_packs
from .reports import progress_report
from .transport import StdlibTransport, install as _install_transport

# Every request the core makes travels through Python's own HTTP stack (see `tidbit.transport`).
_install_transport()

__all__ = [
    *dict.fromkeys([*_core, *_bindings]),
    "import_packs",
    "progress_report",
    "StdlibTransport",
]
