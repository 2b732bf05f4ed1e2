"""Structure figures: import circles, platform names outside adapters/, long functions.

    .venv/bin/python -m bench.structure            # the table
    .venv/bin/python -m bench.structure --list     # and what each figure counts

Reads the source with `ast` (nothing is imported). An import counts wherever it is written:
at top level, inside a function, or under `if TYPE_CHECKING:`. A module "names a platform"
when an identifier, attribute or string in it says slack, teams (the chat platform, not an
implementation team: `teams_id`, `teams_channel`, `"teams"` as a platform name, `Teams`),
botbuilder, bolt or Microsoft. Comments and docstrings do not count.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "flows", "adapters", "scheduler", "looplink")
LONG = 50

PLATFORM = re.compile(
    r"(?i:slack|botbuilder|botframework|bolt)|Microsoft|Teams(?![a-z])|teams_(?:id|aad|channel|app|enabled)"
)
# A string that is exactly a platform's name ("teams" is left out: it is also the org file's
# and the database's word for implementation teams; `teams_id`, `Teams` and the like count).
PLATFORM_NAME = re.compile(r"^(?:slack|msteams|local)$")


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        base = ROOT / pkg
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that `name` is or lies in."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(mod: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import sub` imports the submodule; `from mod import name` the module
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        for n in names:
            target = _resolve(n, known)
            if target is not None and target != mod:
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(m, p, known) for m, p in known.items()}


def circles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
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

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def platform_words(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        word: str | None = None
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and PLATFORM_NAME.match(node.value)
        ):
            found.append(node.value)
            continue
        if isinstance(node, ast.Name):
            word = node.id
        elif isinstance(node, ast.Attribute):
            word = node.attr
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        ):
            word = node.value
        elif isinstance(node, ast.alias):
            word = node.name
        elif isinstance(node, ast.ImportFrom):
            word = node.module
        elif isinstance(node, ast.arg):
            word = node.arg
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            word = node.name
        if word and PLATFORM.search(word):
            found.append(word if len(word) < 40 else word[:37] + "...")
    return found


def long_functions(path: Path) -> Iterator[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > LONG:
                yield node.name, length


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="show what each figure counts")
    args = ap.parse_args(argv)
    g = graph()
    cyc = circles(g)
    known = modules()
    naming = {
        m: words
        for m, p in known.items()
        if not m.startswith("adapters") and (words := platform_words(p))
    }
    core_to_adapters = sorted(
        f"{m} -> {t}"
        for m, targets in g.items()
        if m.split(".")[0] in ("bot", "flows", "scheduler")
        for t in targets
        if t.startswith("adapters")
    )
    longs = [(f"{m}.{name}", n) for m, p in known.items() for name, n in long_functions(p)]
    print(f"modules                                   {len(known)}")
    print(f"import circles (components > 1 module)    {len(cyc)}")
    print(
        f"core modules importing adapters           {len({c.split(' ')[0] for c in core_to_adapters})}"
    )
    print(f"files outside adapters/ naming a platform {len(naming)}")
    print(f"functions over {LONG} lines                   {len(longs)}")
    if args.list:
        for c in cyc:
            print("  circle:", " <-> ".join(c))
        for edge in core_to_adapters:
            print("  core imports adapter:", edge)
        for m, words in sorted(naming.items()):
            print(f"  names a platform: {m}: {', '.join(sorted(set(words))[:8])}")
        for name, n in sorted(longs):
            print(f"  long: {name} ({n} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
