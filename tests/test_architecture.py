"""Structure of the package: no import circles, registries that find every registering module, small modules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "emoconv"


def _modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
        (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every emoconv module ``name`` imports, at module level or inside functions (not under TYPE_CHECKING)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                subs = [f"{mod}.{a.name}" for a in child.names if f"{mod}.{a.name}" in known]
                if subs:  # ``from . import x`` imports the submodule x (the package is already loading)
                    found.update(subs)
                if len(subs) < len(child.names) and mod in known:
                    found.add(mod)
            elif isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name in known)
            visit(child)

    visit(ast.parse(path.read_text()))
    found.discard(name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    known = _modules()
    graph = {name: _imports(name, path, known) for name, path in known.items()}
    assert _cycles(graph) == []


def test_modules_stay_small() -> None:
    long = {str(p.relative_to(ROOT.parent)): n for p in ROOT.rglob("*.py")
            if (n := len(p.read_text().splitlines())) >= 400}
    assert long == {}


_REGISTRIES = {
    "model": ("emoconv.models", "MODELS"), "corpus": ("emoconv.corpora", "CORPORA"),
    "feature kind": ("emoconv.features.kinds", "FEATURE_KINDS"), "protocol kind": ("emoconv.protocol", "PROTOCOL_KINDS"),
    "report layout": ("emoconv.reports.base", "LAYOUTS"), "executor": ("emoconv.experiments.execution", "EXECUTORS"),
}


def test_registries_find_every_registering_module() -> None:
    """In a fresh process, each registry's names (its own lazy loading) equal the names after importing all."""
    code = f"""
import importlib, json, pkgutil
import emoconv
regs = {json.dumps(_REGISTRIES)}
objs = {{k: getattr(importlib.import_module(m), a) for k, (m, a) in regs.items()}}
lazy = {{k: r.names() for k, r in objs.items()}}
for mod in pkgutil.walk_packages(emoconv.__path__, "emoconv."):
    try:
        importlib.import_module(mod.name)
    except ImportError:
        pass
full = {{k: sorted(r._items) for k, r in objs.items()}}
print(json.dumps([lazy, full]))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    lazy, full = json.loads(res.stdout.strip().splitlines()[-1])
    assert lazy == full
    assert {"ecnet", "mts.a2", "svm"} <= set(lazy["model"]) and {"loso", "cross_corpus"} <= set(lazy["protocol kind"])
    assert {"local", "processes", "ray"} <= set(lazy["executor"]) and "default" in lazy["report layout"]


def test_lazy_registry_imports_only_the_named_module() -> None:
    code = ("import sys; from emoconv.models import build_model; build_model('ecnet', 4, (1, 40, 20)); "
            "print(sorted(m for m in sys.modules if m.startswith('emoconv.models.')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    loaded = eval(res.stdout.strip().splitlines()[-1])
    assert "emoconv.models.ecnet" in loaded and "emoconv.models.cnn3d" not in loaded


@pytest.mark.parametrize("package, names", [
    ("emoconv.layers", ["MTSConv2d"]), ("emoconv.models", ["ECNet", "build_model", "MODELS"]),
    ("emoconv.features", ["FeatureConfig", "Normalizer", "FEATURE_KINDS", "LLDConfig"]), ("emoconv.protocol", ["make_folds", "PROTOCOL_KINDS"]),
    ("emoconv.corpora", ["CORPORA", "scan_manifest"]), ("emoconv.reports", ["LAYOUTS", "Report", "write_report"]),
])
def test_package_faces_export_public_names(package: str, names: list[str]) -> None:
    import importlib

    mod = importlib.import_module(package)
    for name in names:
        assert name in mod.__all__, name
        assert getattr(mod, name) is not None
