"""Figures, verdicts and the RESULTS.md block: what every benchmark reports, in one shape.

A `Figure` is one measured value beside its target, "at most" in every case here. A benchmark that
could not measure (a tool missing, a worker that crashed) still returns its figure, with no value
and the reason in `detail`, so the run goes on and the table shows the gap: a MISS, never an
exception.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

BEGIN: Final = "<!-- figures:begin -->"
END: Final = "<!-- figures:end -->"
COUNT_UNITS: Final = frozenset({"calls", "labs", "failures"})


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured value and its target (the value must be at most the target)."""

    bench: str
    subject: str
    measure: str
    value: float | None
    target: float
    unit: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.value is not None and self.value <= self.target

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "MISS"

    def shown(self, number: float | None) -> str:
        if number is None:
            return "n/a"
        if self.unit in COUNT_UNITS:
            return f"{number:.0f}"
        if self.unit == "x":
            return f"{number:.2f}x"
        if self.unit == "MiB":
            return f"{number:.2f} MiB"
        return f"{number:.3f} {self.unit}"

    def line(self) -> str:
        text = (
            f"  {self.verdict}  {self.subject:<16} {self.measure:<28} "
            f"{self.shown(self.value):>12}  (target <= {self.shown(self.target)})"
        )
        return f"{text}  {self.detail}" if self.detail else text


def print_figures(figures: Iterable[Figure]) -> None:
    for figure in figures:
        print(figure.line(), flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, str]:
    """`uname -a`, the CPU model and the CPU count, as RESULTS.md records them."""
    try:
        uname = subprocess.run(
            ["uname", "-a"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except OSError:
        uname = " ".join(platform.uname())
    one, five, fifteen = os.getloadavg()
    return {
        "uname -a": uname,
        "CPU": cpu_model(),
        "nproc": str(os.cpu_count() or "?"),
        "Python": platform.python_version(),
        "load average when written (1, 5, 15 min)": f"{one:.2f} {five:.2f} {fifteen:.2f}",
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(figures: Sequence[Figure], when: dt.datetime | None = None) -> str:
    """The figures block of RESULTS.md: the date, the machine and one table row per figure."""
    stamp = (when or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    lines = [BEGIN, f"Run: {stamp}", ""]
    lines += [f"- {key}: `{value}`" for key, value in machine().items()]
    lines += [
        "",
        "| benchmark | subject | measure | target | measured | verdict | detail |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        lines.append(
            f"| {f.bench} | {f.subject} | {_cell(f.measure)} | <= {f.shown(f.target)} | "
            f"{f.shown(f.value)} | {f.verdict} | {_cell(f.detail)} |"
        )
    passed = sum(f.passed for f in figures)
    lines += ["", f"{passed} of {len(figures)} figures within target.", END]
    return "\n".join(lines)


def write_results(path: Path, figures: Sequence[Figure]) -> None:
    """Replace the figures block of `path` (between the markers), keeping the prose around it."""
    block = markdown(figures)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "# Benchmark results\n\n") + block + "\n"
    path.write_text(text, encoding="utf-8")
