"""Robustness at speed: the slowest `ask` on any text of up to 100,000 characters.

Times `Assistant.ask` (built-in corpus) on hand-made adversarial inputs of 100,000
characters (median of --repeat runs each), then lets Hypothesis search arbitrary Unicode
for slower ones (`hypothesis.target` on the time taken), and reports the worst found,
next to the median time of an ordinary question.

    .venv/bin/python benchmarks/bench_worst_case.py [--examples 300] [--engine bm25s]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from psoasbot import Assistant, QueryError

MAX_CHARS = 100_000


def fill(unit: str) -> str:
    return (unit * (MAX_CHARS // len(unit) + 1))[:MAX_CHARS]


def noise(seed: int) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(0x110000)) for _ in range(MAX_CHARS))


ADVERSARIAL: dict[str, Callable[[], str]] = {
    "random code points": lambda: noise(1),
    "one 100k-letter word": lambda: "a" * MAX_CHARS,
    "index words": lambda: fill("psoas stretch hip flexor tight sitting "),
    "red-flag words": lambda: fill("numbness fever weakness bladder saddle cancer "),
    "negated red flags": lambda: fill("no fever, not numb, never lost bladder control; "),
    # Triage: every sign with its guard, exception and another person; phrases that branch.
    "signs and guards": lambda: fill(
        "numb groin bike fell asleep no fever my dad had cancer my back "
    ),
    "branching phrases": lambda: fill(
        "lost about half a stone fell off the top bunk temp of 39.5 "
    ),
    "one long sentence": lambda: fill("numb and weak legs getting worse and "),
    "lexicon phrases": lambda: fill("hip flexor slipped disc pins and needles lower back "),
    "apostrophes": lambda: fill("a'"),
    "possessives": lambda: fill("psoas's "),
    "combining marks": lambda: fill("a\u0301\u0302\u0303"),
    "NFKC expanders": lambda: fill("\ufdfa"),
    "ligatures": lambda: fill("\ufb03"),
    "zero-width spaces": lambda: fill("\u200b"),
    "emoji": lambda: fill("🦴💪"),
    "CJK": lambda: fill("腰大筋が痛い"),
    "punctuation": lambda: fill("?!.,;:"),
    "digits": lambda: fill("1234567890"),
    "lone surrogates": lambda: fill("\ud800x"),
    "newlines": lambda: fill("psoas\n"),
}


def timed(assistant: Assistant, question: str) -> float:
    start = time.perf_counter()
    try:
        assistant.ask(question)
    except QueryError:  # a blank question: refused, which is an answer too
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="Hypothesis examples")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each hand-made input")
    parser.add_argument("--engine", default="rank-bm25", choices=["rank-bm25", "bm25s"])
    args = parser.parse_args()
    assistant = Assistant.from_corpus(engine=args.engine)
    ordinary = "Why doesn't stretching help my tight psoas?"
    for _ in range(20):
        timed(assistant, ordinary)
    baseline = statistics.median(timed(assistant, ordinary) for _ in range(200))
    print(f"load average {os.getloadavg()[0]:.2f}; engine {args.engine}")
    print(f"{'ordinary question':>22}: {baseline * 1000:8.2f} ms")
    results = {}
    for name, make in ADVERSARIAL.items():
        question = make()
        assert len(question) == MAX_CHARS
        results[name] = statistics.median(timed(assistant, question) for _ in range(args.repeat))
        print(f"{name:>22}: {results[name] * 1000:8.2f} ms", flush=True)

    found: list[tuple[float, int]] = []
    chars = st.characters(exclude_categories=())
    texts = st.one_of(
        st.text(chars, max_size=5_000),
        st.builds(
            lambda unit, n: (unit * (n // len(unit) + 1))[:n],
            st.text(chars, min_size=1, max_size=30),
            st.integers(1, MAX_CHARS),
        ),
    )

    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(texts)
    def search(question: str) -> None:
        elapsed = timed(assistant, question)
        found.append((elapsed, len(question)))
        target(elapsed)

    search()
    worst, length = max(found)
    print(f"{'Hypothesis search':>22}: worst {worst * 1000:8.2f} ms ({length:,} characters)")
    slowest = max(results, key=lambda name: results[name])
    overall = max(worst, results[slowest])
    which = slowest if results[slowest] >= worst else "found by Hypothesis"
    print(
        f"worst case: {overall * 1000:.1f} ms ({which}), "
        f"{overall / baseline:.0f}x an ordinary question"
    )


if __name__ == "__main__":
    main()
