"""Find a CPython interpreter of a given minor version on this machine.

The packager compiles each zip's bytecode with the target runtime's Python (a `.pyc` is only read
by the minor version that wrote it), and the packaging tests run every zip under each Lambda
runtime's Python. Where an interpreter comes from, first match wins:

1. `LAMBDA_PYTHON_<major>_<minor>` (e.g. `LAMBDA_PYTHON_3_13=/usr/bin/python3.13`): an explicit path;
2. the interpreter running this code, when it is that version;
3. `python<major>.<minor>` on PATH (actions/setup-python, Debian's packages, pyenv shims);
4. pyenv's own folder (`$PYENV_ROOT`, default `~/.pyenv`): the newest `versions/<major>.<minor>.*`.

Every candidate is run once to check its version, so a pyenv shim for a version that is not
selected, or a stale path, is passed over.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

_VERSION_RE: Final = re.compile(r"^(\d+)\.(\d+)$")
_PROBE: Final = "import sys; print('%d.%d' % sys.version_info[:2])"


def env_name(version: str) -> str:
    """The variable that names an interpreter explicitly: LAMBDA_PYTHON_3_13 for "3.13"."""
    return "LAMBDA_PYTHON_" + version.replace(".", "_")


def _reports(executable: str, version: str) -> bool:
    try:
        result = subprocess.run(
            [executable, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0 and result.stdout.strip() == version


def _pyenv_candidates(version: str) -> list[str]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")

    def patch(path: Path) -> int:
        tail = path.name[len(version) + 1 :]
        return int(tail) if tail.isdigit() else -1

    found = [p for p in (root / "versions").glob(f"{version}.*") if patch(p) >= 0]
    return [str(p / "bin" / f"python{version}") for p in sorted(found, key=patch, reverse=True)]


@functools.cache
def find_python(version: str) -> Path | None:
    """An interpreter of `version` ("3.13"), or None when this machine has none."""
    if not _VERSION_RE.match(version):
        raise ValueError(f"expected a version like 3.13, got {version!r}")
    candidates: list[str] = []
    explicit = os.environ.get(env_name(version), "").strip()
    if explicit:
        candidates.append(explicit)
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version and sys.executable:
        candidates.append(sys.executable)
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    candidates += _pyenv_candidates(version)
    for candidate in dict.fromkeys(candidates):
        if _reports(candidate, version):
            return Path(candidate)
    return None


def where_looked(version: str) -> str:
    """Where find_python looked, for a skip reason or an error message."""
    return (
        f"${env_name(version)}, python{version} on PATH, "
        f"$PYENV_ROOT/versions/{version}.* (pyenv install {version})"
    )
