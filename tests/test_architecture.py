# SPDX-License-Identifier: MIT
"""The package's rooms keep their privates and declare what they offer.

Read from the source (``ast``), not by importing it, except to check that every declared
name resolves:

- no module imports a private name (``_x``) of another module, unless that module is itself
  private (``_grid.py``) and local to the importer's package: a private module's names are
  shared by its package and nobody else;
- no module imports a private module of another package (``halos_analysis.x._y``);
- every subpackage declares its public API in ``__all__``, every declared name resolves, and
  every name that another room (``io``, ``integrate``, ``reduce``, ``analysis``, ``export``,
  ``app``, ``simulate``; the Snakemake rules count as one) imports from a room is declared in
  that room's ``__all__`` (or in the ``__all__`` of the subpackage it comes from);
- the rooms depend along the data flow only: ``io`` → ``integrate`` → ``reduce`` →
  ``analysis`` → ``export`` → ``app``; no room imports from one further down
  (``simulate`` stands beside them and may use any).
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import halos_analysis

PACKAGE = Path(halos_analysis.__file__).resolve().parent
ROOT = "halos_analysis"
WORKFLOW_RULES = PACKAGE.parent / "workflow" / "rules"


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name, or "workflow/rules/x.smk"
    where: str  # file:line, for the message
    module: str  # the module imported from
    name: str | None  # the name imported from it (None: `import module`)


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _package_imports() -> list[Import]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        rel = path.relative_to(PACKAGE.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level:  # relative: resolve against the importer's package
                    base = _package_of(module, path).split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join([*base, target] if target else base)
                if target == ROOT or target.startswith(ROOT + "."):
                    for alias in node.names:
                        found.append(Import(module, f"{rel}:{node.lineno}", target, alias.name))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(ROOT + "."):
                        found.append(Import(module, f"{rel}:{node.lineno}", alias.name, None))
    return found


_SMK_IMPORT = re.compile(r"^\s*from (halos_analysis[\w.]*) import \(?([\w, ]+)", re.M)


def _workflow_imports() -> list[Import]:
    found = []
    for path in sorted(WORKFLOW_RULES.glob("*.smk")):
        text = path.read_text(encoding="utf-8")
        for m in _SMK_IMPORT.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            for name in m.group(2).split(","):
                if name.strip():
                    found.append(Import(f"workflow/rules/{path.name}", f"{path.name}:{line}",
                                        m.group(1), name.strip()))  # fmt: skip
    return found


IMPORTS = _package_imports()


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").is_file() or (
        PACKAGE.parent / rel / "__init__.py"
    ).is_file()


def _is_package(dotted: str) -> bool:
    return (PACKAGE.parent / Path(*dotted.split(".")) / "__init__.py").is_file()


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def private_name_imports(imports: list[Import]) -> list[str]:
    """Imports of another module's private name (not from a private module of one's own
    package)."""
    bad = []
    for imp in imports:
        if imp.name is None or not _private(imp.name):
            continue
        if _is_module(f"{imp.module}.{imp.name}"):
            continue  # a private module: private_module_imports judges it
        last = imp.module.rpartition(".")
        if _private(last[2]) and _inside(imp.importer, last[0]):
            continue  # a private module's names are its package's to share
        bad.append(f"{imp.where}: {imp.importer} imports {imp.name} from {imp.module}")
    return bad


def private_module_imports(imports: list[Import]) -> list[str]:
    """Imports of a private module (``pkg._mod``) from outside ``pkg``."""
    bad = []
    for imp in imports:
        dotted = imp.module.split(".")
        if imp.name is not None and _is_module(f"{imp.module}.{imp.name}"):
            dotted = [*dotted, imp.name]
        for k, part in enumerate(dotted):
            if _private(part) and not _inside(imp.importer, ".".join(dotted[:k])):
                bad.append(f"{imp.where}: {imp.importer} imports the private module "
                           f"{'.'.join(dotted[: k + 1])}")  # fmt: skip
                break
    return bad


def _room(module: str) -> str | None:
    """The room (top-level subpackage) of a module; None for the root's own modules."""
    parts = module.split(".")
    if module.startswith("workflow/"):
        return "workflow"
    if len(parts) >= 2 and (PACKAGE / parts[1] / "__init__.py").is_file():
        return parts[1]
    return None


def _subpackages() -> list[str]:
    return sorted(_module_name(p) for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE)


def _declared(package: str) -> list[str] | None:
    """``__all__`` of a package, read from its ``__init__.py`` (None: not declared)."""
    path = PACKAGE.parent / Path(*package.split(".")) / "__init__.py"
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return None


def undeclared_crossings(imports: list[Import]) -> list[str]:
    """Names one room imports from another that the exporting room does not declare."""
    bad = []
    for imp in imports:
        room = _room(imp.module)
        if room is None or room == _room(imp.importer) or imp.name is None:
            continue
        if _is_module(f"{imp.module}.{imp.name}"):
            continue  # a (public) subpackage or module imported as a whole
        # The name is public when the room, or a subpackage on the way to the module,
        # declares it.
        parts = imp.module.split(".")
        packages = [".".join(parts[:k]) for k in range(2, len(parts) + 1)]
        packages = [p for p in packages if _is_package(p)]
        if not any(imp.name in (_declared(p) or ()) for p in packages):
            bad.append(f"{imp.where}: {imp.importer} uses {imp.module}.{imp.name}, which "
                       f"{' / '.join(packages)} do(es) not declare in __all__")  # fmt: skip
    return bad


#: The rooms in the order the data goes through them.
FLOW = ("io", "integrate", "reduce", "analysis", "export", "app")


def upstream_imports(imports: list[Import]) -> list[str]:
    """Imports of a room further down the data flow than the importer's."""
    bad = []
    for imp in imports:
        mine, theirs = _room(imp.importer), _room(imp.module)
        if mine in FLOW and theirs in FLOW and FLOW.index(theirs) > FLOW.index(mine):
            bad.append(f"{imp.where}: {mine} imports {imp.module} ({theirs} comes after it)")
    return bad


def test_rooms_depend_along_the_data_flow():
    bad = upstream_imports(IMPORTS)
    assert not bad, "\n".join(bad)


def test_no_private_name_crosses_a_module_boundary():
    bad = private_name_imports(IMPORTS)
    assert not bad, f"{len(bad)} private names imported from another module:\n" + "\n".join(bad)


def test_no_private_module_imported_from_outside_its_package():
    bad = private_module_imports(IMPORTS)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", _subpackages())
def test_subpackage_declares_its_api(package):
    declared = _declared(package)
    assert declared, f"{package}/__init__.py declares no __all__"
    assert len(set(declared)) == len(declared), f"{package}.__all__ repeats a name"
    module = importlib.import_module(package)
    missing = [name for name in declared if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not define: {missing}"


def test_every_name_used_across_rooms_is_declared():
    bad = undeclared_crossings(IMPORTS + _workflow_imports())
    assert not bad, f"{len(bad)} undeclared names used across rooms:\n" + "\n".join(bad)


# --- the checks catch what they are meant to -------------------------------------------------


def test_checks_find_planted_crossings():
    planted = [
        Import("halos_analysis.app.cli", "x:1", "halos_analysis.io.nxcansas", "_write_sasdata"),
        Import("halos_analysis.io.curves", "x:2", "halos_analysis.io.atomic", "_private_helper"),
        Import("halos_analysis.app.cli", "x:3", "halos_analysis.reduce._grid", "check_same_grid"),
        Import("halos_analysis.app.cli", "x:4", "halos_analysis.reduce", "no_such_public_name"),
    ]
    allowed = [
        Import("halos_analysis.reduce.average", "y:1", "halos_analysis.reduce._grid", "_x"),
        Import("halos_analysis.app.cli", "y:2", "halos_analysis.reduce", "subtract"),
        Import("halos_analysis.app.cli", "y:3", "halos_analysis", "__version__"),
    ]
    assert len(private_name_imports(planted)) == 2
    assert len(private_module_imports(planted)) == 1
    assert len(undeclared_crossings(planted[3:])) == 1
    assert len(upstream_imports(planted)) == 0 and len(upstream_imports(
        [Import("halos_analysis.export.crate", "z:1", "halos_analysis.app.runner", "x")])) == 1
    assert not private_name_imports(allowed) + private_module_imports(allowed)
    assert not undeclared_crossings(allowed)
