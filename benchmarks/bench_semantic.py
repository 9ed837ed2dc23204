"""Semantic matching's costs, side by side with matching by words only, in one run.

    .venv/bin/python benchmarks/bench_semantic.py [--rounds 20] [--runs 15] [--plain PATH]

Needs the [semantic] extra. Each figure is measured for both modes in turn, so that both
see the same machine:

- ask: `Assistant.ask` in this process on the built-in corpus, the questions of
  bench_ask.py, alternating the two assistants question by question (target: p50 <= 40 ms
  with semantic matching);
- cold ask: a whole `psoasbot ask "..."` process with the cache warm (an earlier run
  filled it), alternating `psoasbot ask` and the words-only command: by default the same
  program with --no-semantic, or with --plain the `psoasbot` of a plain install (target:
  at most 0.3 s more);
- memory: the peak resident set of those processes (target: <= 300 MB).

The bot's throughput is bench_bot_load.py's job (--compare-semantic).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ask import QUESTIONS, percentile  # noqa: E402

from psoasbot import Assistant  # noqa: E402

QUESTION = "Why doesn't stretching help my tight psoas?"


def in_process(rounds: int, cache: str) -> dict[str, list[float]]:
    """Time `ask` with and without semantic matching, question by question in turn."""
    assistants = {
        "words only": Assistant.from_corpus(semantic=False, cache_dir=cache),
        "semantic": Assistant.from_corpus(semantic=True, cache_dir=cache),
    }
    for assistant in assistants.values():
        for question in QUESTIONS:  # warm up: first-call work is not timed
            assistant.ask(question)
    times: dict[str, list[float]] = {name: [] for name in assistants}
    for _ in range(rounds):
        for question in QUESTIONS:
            for name, assistant in assistants.items():
                start = time.perf_counter()
                assistant.ask(question)
                times[name].append((time.perf_counter() - start) * 1000)
    return times


# Runs a command and prints its wall time and peak resident set. A child forked from this
# process would start with (and Linux would report) this process's own resident set.
RUNNER = """\
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; return its wall time (s) and peak resident set (MB)."""
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, *command],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, megabytes = result.stdout.split()
    return float(seconds), float(megabytes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds over the questions")
    parser.add_argument("--runs", type=int, default=15, help="cold runs of each command")
    parser.add_argument(
        "--plain", metavar="PATH", help="the psoasbot program of a plain install, for words only"
    )
    args = parser.parse_args()
    psoasbot = str(Path(sys.executable).with_name("psoasbot"))
    commands = {
        "semantic": [psoasbot, "ask", QUESTION],
        "words only": [args.plain, "ask", QUESTION]
        if args.plain
        else [psoasbot, "ask", "--no-semantic", QUESTION],
    }
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    cold: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PSOASBOT_CACHE_DIR": cache}
        for command in commands.values():
            timed(command, env)  # fills the cache (and the OS file cache)
        times = in_process(args.rounds, cache)
        for name, values in times.items():
            print(
                f"ask, {name:>10}: p50 {statistics.median(values):6.2f} ms, "
                f"p90 {percentile(values, 0.9):6.2f} ms, p99 {percentile(values, 0.99):6.2f} ms"
                f" ({len(values)} questions)"
            )
        for n in range(args.runs):
            # Each pair in turn starts with the other command: the machine's load drifts.
            for name in commands if n % 2 else list(commands)[::-1]:
                cold[name].append(timed(commands[name], env))
    print(f"load average {os.getloadavg()[0]:.2f}")
    medians = {}
    for name, runs in cold.items():
        seconds = [s for s, _ in runs]
        medians[name] = statistics.median(seconds)
        print(
            f"cold ask, {name:>10}: median {medians[name]:.3f} s (min {min(seconds):.3f}, "
            f"max {max(seconds):.3f}); peak RSS median {statistics.median(m for _, m in runs):.0f}"
            f" MB, max {max(m for _, m in runs):.0f} MB"
        )
    pairs = [s[0] - w[0] for s, w in zip(cold["semantic"], cold["words only"], strict=True)]
    print(
        f"cold ask, semantic - words only: {medians['semantic'] - medians['words only']:+.3f} s "
        f"(medians; median of pair differences {statistics.median(pairs):+.3f} s; target <= +0.3)"
    )


if __name__ == "__main__":
    main()
