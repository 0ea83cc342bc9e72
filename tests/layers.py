"""The dependency rule of initlab's layout, checked by walking the AST of every module.

One layer per folder (or top-level module), imports only downward::

    core < activations, schemes < theory, ensemble, examples < measure, train, data < tools < studies
         < viz, report < cli

A module may import its own package freely, a lower layer's public names, and a same-layer package's
public names; it may not import a higher layer (upward) or another package's private module (a path
component starting with ``_``, e.g. ``initlab.schemes._apply``). The one allowed exception: a function
in ``studies`` (a result's ``figures()``) may import ``viz`` lazily, inside the function body.
The package's facade (``initlab/__init__.py``, ``__main__.py``) sits above everything.
"""

from __future__ import annotations

import ast
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
FACADE = {"__init__", "__main__"}
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
