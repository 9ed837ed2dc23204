"""Cold start: a whole `psoasbot ask "..."` process against `python -c "import nltk, rank_bm25"`.

The floor is the import of psoasbot's own dependencies; the target is ask <= 1.3x the
floor, with the index cache warm (an earlier run filled it, as on any machine after the
first question). The two commands run alternately, `--runs` times each, so that both
see the same machine; the cache lives in a temporary folder. Also shown, not part of
the target: the first run with an empty cache, and runs with the cache turned off.

    .venv/bin/python benchmarks/bench_cold_start.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTION = "Why doesn't stretching help my tight psoas?"


def psoasbot_command() -> list[str]:
    script = Path(sys.executable).with_name("psoasbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "psoasbot"]


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command")
    args = parser.parse_args()
    ask = [*psoasbot_command(), "ask", QUESTION]
    floor = [sys.executable, "-c", "import nltk, rank_bm25"]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PSOASBOT_CACHE_DIR": cache}
        uncached_env = {**os.environ, "PSOASBOT_CACHE_DIR": ""}
        first = timed(ask, env)  # fills the cache
        timed(floor, env)  # and warms the OS file cache for both
        times: dict[str, list[float]] = {"ask": [], "floor": [], "ask, no cache": []}
        for _ in range(args.runs):
            times["floor"].append(timed(floor, env))
            times["ask"].append(timed(ask, env))
        for _ in range(max(5, args.runs // 3)):
            times["ask, no cache"].append(timed(ask, uncached_env))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs of each, alternately")
    for name, values in times.items():
        print(
            f"{name:>14}: median {median[name] * 1000:6.0f} ms"
            f"  min {min(values) * 1000:6.0f}  max {max(values) * 1000:6.0f}"
        )
    print(f"   first (fills the cache): {first * 1000:.0f} ms")
    print(f"ratio ask / floor (medians): {median['ask'] / median['floor']:.2f} (target <= 1.3)")
    print(f"ratio ask without cache / floor: {median['ask, no cache'] / median['floor']:.2f}")


if __name__ == "__main__":
    main()
