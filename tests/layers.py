"""The dependency rule of initlab's layout, checked by walking the AST of every module.

One layer per folder (or top-level module), imports only downward::

    core < activations, schemes < theory, ensemble, examples < measure, train, data < tools < studies
         < viz, report < cli

A module may import its own package freely, a lower layer's public names, and a same-layer package's
public names; it may not import a higher layer (upward) or another package's private module (a path
component starting with ``_``, e.g. ``initlab.schemes._apply``). The one allowed exception: a function
in ``studies`` (a result's ``figures()``) may import ``viz`` lazily, inside the function body.
The package's facade (``initlab/__init__.py``, ``__main__.py``) sits above everything.

The tests follow two more rules (:func:`suite_violations`): they use initlab's public surface only (no
``initlab.x._y`` module, no ``from initlab.x import _z`` name, not even as an attribute or a dotted
string), and every test file sits in ``tests/<layer>/``, the folder that mirrors the layer it tests,
and imports that layer (or the facade).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("activations", "schemes"),
    ("theory", "ensemble", "examples"),
    ("measure", "train", "data"),
    ("tools",),
    ("studies",),
    ("viz", "report"),
    ("cli",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
FACADE = {"__init__", "__main__", "_startup"}  #: above every layer (_startup: the CLI's start-up guard)
LAZY_ALLOWED = {("studies", "viz")}  #: (from, to): upward only inside a function body


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    target: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.target}: {self.why}"


def _module_of(root: Path, path: Path) -> list[str]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return [root.name, *parts]


def _targets(node: ast.ImportFrom | ast.Import, here: list[str], is_pkg: bool) -> list[list[str]]:
    """Absolute dotted paths (as lists) this import statement reaches, one per imported name."""
    if isinstance(node, ast.Import):
        return [a.name.split(".") for a in node.names]
    if node.level:
        base = here if is_pkg else here[:-1]
        base = base[: len(base) - (node.level - 1)]
    else:
        base = []
    mod = base + (node.module.split(".") if node.module else [])
    return [[*mod, a.name] for a in node.names]


def violations(root: Path) -> list[Violation]:
    """Every import in the package at ``root`` (``.../initlab``) that breaks the dependency rule."""
    found: list[Violation] = []
    for path in sorted(root.rglob("*.py")):
        here = _module_of(root, path)
        if len(here) < 2 or here[1] in FACADE:
            continue
        src_layer = here[1]
        if src_layer not in RANK:
            found.append(Violation(str(path), 1, ".".join(here), "module is in no layer (add it to LAYERS)"))
            continue
        tree = ast.parse(path.read_text(), str(path))
        lazy_lines: set[int] = set()
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for sub in ast.walk(fn):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        lazy_lines.add(sub.lineno)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, here, path.name == "__init__.py"):
                if target[0] != root.name or len(target) < 2:
                    continue
                layer = target[1]
                shown = ".".join(target)
                if layer == src_layer:
                    continue
                if layer in FACADE or layer == "__version__":
                    found.append(Violation(str(path), node.lineno, shown, "the facade is above every layer"))
                    continue
                if layer not in RANK:
                    continue  # a name imported from the facade's namespace is reported above
                if RANK[layer] > RANK[src_layer]:
                    if (src_layer, layer) in LAZY_ALLOWED and node.lineno in lazy_lines:
                        continue
                    found.append(
                        Violation(str(path), node.lineno, shown, f"upward ({src_layer} is below {layer})")
                    )
                elif any(p.startswith("_") for p in target[2:-1]) or (
                    isinstance(node, ast.Import) and any(p.startswith("_") for p in target[2:])
                ):
                    found.append(
                        Violation(str(path), node.lineno, shown, f"private module of another layer ({layer})")
                    )
    return found


#: Test files allowed at the top of ``tests/``: they test the layout as a whole.
TOP_LEVEL_TESTS = {"test_layers.py", "test_facade.py"}  #: the package as a whole: its layout and its facade
#: Files that name private paths as data (the planted violations), exempt from the dotted-string rule.
NAMES_VIOLATIONS = {"layers.py", "test_layers.py"}
_DOTTED_PRIVATE = re.compile(r"^initlab(\.[A-Za-z]\w*)*\._[A-Za-z]\w*")


def _private(name: str) -> bool:
    """``_x`` is private; dunder names (``__version__``) are not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _private_uses(path: Path, package: str) -> list[Violation]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[Violation] = []

    def bad(line: int, target: str, why: str) -> None:
        found.append(Violation(str(path), line, target, why))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == package and any(_private(p) for p in parts[1:]):
                    bad(node.lineno, a.name, "a private module of initlab")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] != package:
                continue
            if any(_private(p) for p in parts[1:]):
                bad(node.lineno, node.module, "a private module of initlab")
            for a in node.names:
                if _private(a.name):
                    bad(node.lineno, f"{node.module}.{a.name}", "a private name of initlab")
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Del):
            dotted = _dotted(node)
            if dotted and dotted.split(".")[0] == package and _private(node.attr):
                bad(node.lineno, dotted, "a private name of initlab")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and path.name not in NAMES_VIOLATIONS
            and _DOTTED_PRIVATE.match(node.value)
        ):
            bad(node.lineno, node.value, "a private name of initlab (as a dotted string)")
    return found


def _layer_imported(path: Path, layer: str, package: str) -> bool:
    """Whether the test file imports from ``initlab.<layer>`` or from the facade ``initlab``."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")]
        else:
            continue
        if any(n[0] == package and (len(n) == 1 or n[1] == layer) for n in names):
            return True
    return False


def suite_violations(tests: Path, package: str = "initlab") -> list[Violation]:
    """Every private use of initlab in the test suite at ``tests``, and every misplaced test file."""
    found: list[Violation] = []
    for path in sorted(tests.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        found += _private_uses(path, package)
        if not path.name.startswith("test_"):
            continue
        rel = path.relative_to(tests).parts
        if len(rel) == 1:
            if path.name not in TOP_LEVEL_TESTS:
                found.append(Violation(str(path), 1, path.name, "a test file outside tests/<layer>/"))
        elif rel[0] not in RANK or len(rel) != 2:
            found.append(Violation(str(path), 1, "/".join(rel), "tests/<folder>/ mirrors no layer"))
        elif not _layer_imported(path, rel[0], package):
            found.append(
                Violation(
                    str(path), 1, f"{package}.{rel[0]}", "the test file never imports the layer it mirrors"
                )
            )
    return found
