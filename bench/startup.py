"""Benchmark: how long the `popcase` command takes to start.

    python -m bench.startup [--runs 5]

Runs `popcase --help`, and `popcase import police-uk --json FILE` of a small street file
(50 rows, imported into a fresh SQLite database, then again: the second run adds nothing), each
in a process of its own, and prints the seconds of each run (min-max) and the CPU seconds.
Target (PASS or FAIL): the fastest of the runs under 0.5 s for both, as a command a script calls
should start (heavy libraries are imported only by the commands that use them).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.imports import write_files

TARGET_S = 0.5
POPCASE = [sys.executable, "-c", "from app.cli import main; main()"]


def timed(arguments: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of the command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([*POPCASE, *arguments], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def report(name: str, runs: list[tuple[float, float]]) -> bool:
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    best = min(walls)
    print(f"{name}: {best:.2f}-{max(walls):.2f} s over {len(runs)} runs "
          f"(CPU {min(cpus):.2f}-{max(cpus):.2f} s) — "
          f"{'PASS' if best < TARGET_S else 'FAIL'} (target under {TARGET_S} s)")
    return best < TARGET_S


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = dict(os.environ, POPCASE_DATABASE_URL=f"sqlite:///{folder / 'startup.db'}")
        subprocess.run([*POPCASE, "db", "upgrade"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        small = write_files(folder, 12 * 50)[0]
        timed(["--help"], env)  # the first run compiles the modules' bytecode
        report("popcase --help", [timed(["--help"], env) for _ in range(args.runs)])
        report(f"popcase import police-uk --json {small.name} (50 rows)",
               [timed(["import", "police-uk", "--json", str(small)], env)
                for _ in range(args.runs)])


if __name__ == "__main__":
    main()
