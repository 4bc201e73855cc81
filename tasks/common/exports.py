"""Stage packages name their public API in `__init__.py` and load it on first use.

Each stage's `__init__.py` lists its public names as imports inside `if TYPE_CHECKING:` (what
readers, mypy and import-linter see) and in `__all__`, then sets
`__getattr__ = lazy_exports(__name__, __file__)`. A name is imported from its module the first
time someone asks the package for it (PEP 562). Why not import them all at once: the feed
parser's child process and the page workers' fork server import one module each of `ingest` and
`stories`; importing the whole packages there would pull Prefect and SQLAlchemy into them
(measured on this 2-core machine: `import tasks.ingest.workers` takes 0.13 s and 42 MB; with
the ingest and stories Prefect tasks' modules, 1.7 s and 130 MB).
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _declared(init_file: str) -> dict[str, tuple[str, str]]:
    """{public name: (module, name in it)} from the `if TYPE_CHECKING:` imports of a package."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    origins: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    for alias in statement.names:
                        origins[alias.asname or alias.name] = (statement.module, alias.name)
    return origins


def lazy_exports(package: str, init_file: str) -> Callable[[str], Any]:
    """The package's module-level `__getattr__`: loads a declared name on first use and keeps it."""
    origins = _declared(init_file)

    def __getattr__(name: str) -> Any:
        try:
            module, attribute = origins[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attribute)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
