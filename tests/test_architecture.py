"""The structure rules of ARCHITECTURE.md, checked on the source (bench/structure.py reads it
with `ast`; nothing is imported): the core never names an adapter or a platform, the
composition root sits on top, no import circles, nothing loaded by a string name."""

from __future__ import annotations

import ast

from bench.structure import circles, graph, modules, platform_words

CORE = ("bot", "flows", "scheduler")


def test_the_core_imports_no_adapter_and_nothing_imports_the_root() -> None:
    g = graph()
    wrong = sorted(
        f"{m} -> {t}"
        for m, targets in g.items()
        for t in targets
        if (m.split(".")[0] in CORE and t.split(".")[0] in ("adapters", "looplink"))
        or (m.split(".")[0] != "looplink" and t.split(".")[0] == "looplink")
    )
    assert wrong == []


def test_no_import_circles() -> None:
    assert circles(graph()) == []


def test_no_platform_is_named_in_the_core() -> None:
    named = {
        m: w for m, p in modules().items() if m.split(".")[0] in CORE and (w := platform_words(p))
    }
    assert named == {}


def test_no_module_is_loaded_by_a_string_name() -> None:
    loaders = {"import_module", "__import__", "load_module", "entry_points"}
    found = []
    for m, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = (
                node.func.attr
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                else node.func.id
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                else None
            )
            if name in loaders:
                found.append(f"{m}: {name}")
    assert found == []
