"""Byte-compile every module of a staged zip tree, run by the target runtime's interpreter.

    python3.13 -S -s -B scripts/compile_tree.py TREE PREFIX [PART ...]

Writes `__pycache__/<module>.<cache tag>.pyc` beside each `.py` under TREE, or only under the
PARTs (files or folders relative to TREE) when given (only this interpreter's
cache tag, e.g. cpython-313), as `unchecked-hash` pycs: the import system loads them without
reading or hashing the source, and they carry no timestamp. Each code object records
`PREFIX/<relative path>` as its file name (Lambda unzips into /var/task), not the build folder, so
the bytes depend only on the source and the interpreter's minor version. The packager runs this
with a fixed PYTHONHASHSEED as a second guard. Prints the number of files compiled; exits 1 naming
the first file that does not compile.

Kept free of imports from this repository: it runs under another Python, with no site-packages.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import sys


def _sources(tree: str, parts: list[str]) -> list[str]:
    found: list[str] = []
    for part in parts or ["."]:
        start = os.path.join(tree, part)
        if os.path.isfile(start):
            found.append(start)
            continue
        for current, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            found += [os.path.join(current, name) for name in sorted(filenames) if name.endswith(".py")]
    return found


def compile_tree(tree: str, prefix: str, parts: list[str]) -> int:
    sources = _sources(tree, parts)
    for source in sources:
        relative = os.path.relpath(source, tree).replace(os.sep, "/")
        py_compile.compile(
            source,
            cfile=importlib.util.cache_from_source(source),
            dfile=f"{prefix.rstrip('/')}/{relative}",
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    return len(sources)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: compile_tree.py TREE PREFIX [PART ...]", file=sys.stderr)
        return 2
    try:
        count = compile_tree(argv[0], argv[1], argv[2:])
    except py_compile.PyCompileError as exc:
        print(f"error: {exc.msg}", file=sys.stderr)
        return 1
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
