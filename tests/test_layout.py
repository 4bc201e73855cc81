"""The layout a newcomer reads: small modules and functions, each stage's public API stated in
its __init__.py, no private name crossing a module, and a README that names every package.
Import direction and cycles are checked by `make lint` (lint-imports, pyproject.toml)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = ("flows", "tasks", "storage", "deploy")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Migrations are history: written once for the schema of their day and never edited again.
EXEMPT = ("storage/migrations/versions/",)
STAGES = ("config", "fetching", "ingest", "stories", "query", "matching", "alerting")


def code_files() -> list[Path]:
    return sorted(
        p for top in CODE for p in (ROOT / top).rglob("*.py") if not str(p.relative_to(ROOT)).startswith(EXEMPT)
    )


def test_modules_and_functions_are_small() -> None:
    too_long = []
    for path in code_files():
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        if source.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{rel}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{rel}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, "\n".join(too_long)


def private_imports(path: Path) -> list[str]:
    """`from x import _name` where x is one of ours: a private name crossing a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in CODE:
            found += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name}" for a in node.names if a.name.startswith("_")]
    return found


def test_no_private_name_crosses_a_module() -> None:
    crossing = [hit for path in code_files() for hit in private_imports(path)]
    assert not crossing, "\n".join(crossing)


def declared(package: str) -> dict[str, str]:
    """{name: module} of the package's `if TYPE_CHECKING:` imports."""
    init = ROOT / package.replace(".", "/") / "__init__.py"
    names: dict[str, str] = {}
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module, f"{package}: from-imports only"
                names |= {a.asname or a.name: statement.module for a in statement.names}
    return names


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_states_its_public_api(stage: str) -> None:
    package = importlib.import_module(f"tasks.{stage}")
    names = declared(f"tasks.{stage}")
    assert package.__doc__ and len(package.__doc__) > 80, f"tasks.{stage}: say what the stage owns"
    assert sorted(package.__all__) == sorted(names), f"tasks.{stage}: __all__ and the imports differ"
    submodules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    # A public name equal to a submodule's would be replaced by the module once it is imported.
    assert not submodules & set(names), f"tasks.{stage}: names shadowed by modules {submodules & set(names)}"
    for name, module in names.items():
        assert module.startswith(f"tasks.{stage}."), f"tasks.{stage}.{name} comes from another stage"
        assert getattr(package, name) is getattr(importlib.import_module(module), name)


def test_lazy_api_loads_nothing_until_asked() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        importlib.import_module("tasks.ingest").nothing_here  # noqa: B018


def test_readme_layout_names_every_package() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    packages = sorted(
        str(p.parent.relative_to(ROOT))
        for top in CODE
        for p in (ROOT / top).rglob("__init__.py")
        if "versions" not in p.parts
    )
    missing = [p for p in packages if not re.search(rf"(^|[\s/`]){re.escape(p.rsplit('/', 1)[-1])}/", layout, re.M)]
    assert not missing, f"README's Layout section does not name {missing}"


def test_the_worker_and_parser_processes_import_neither_prefect_nor_sqlalchemy() -> None:
    """The page workers' fork server and the feed parser's child import one module each; the
    stage packages load their API lazily so that this stays light (tasks/common/exports.py)."""
    import subprocess
    import sys

    code = (
        "import sys, tasks.ingest.workers, tasks.ingest.feeds; "
        "print(sorted({'prefect', 'sqlalchemy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"
