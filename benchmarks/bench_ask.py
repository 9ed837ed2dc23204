"""Built-in corpus, in process: `Assistant.ask()` against bare rank-bm25 scoring, the floor.

The floor is `BM25Plus.get_scores(words)` from rank-bm25 over the same passages (the
engine's own BM25Plus, built from the passages' index terms) and the same query words
(the question's index terms, as the engine passes them). The target is ask <= 3x the
floor. Both are timed alternately, question by question, in the same process.

The rank-bm25 engine keeps each term's score vector once computed, as a long-running bot
does; "ask, cold" empties that store before every question, so every term is scored from
scratch, as the first time a word is seen.

    .venv/bin/python benchmarks/bench_ask.py [--rounds 200] [--engine rank-bm25|bm25s]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from psoasbot import Assistant
from psoasbot.index import RankBM25Engine

QUESTIONS = [
    "Why doesn't stretching help my tight psoas?",
    "can sitting all day cause this?",
    "how do I do the kneeling stretch?",
    "what is pandiculation?",
    "how long should I hold a psoas stretch?",
    "my lower back hurts when I stand up after sitting",
    "hip flexor pain when running",
    "why is the psoas called the muscle of the soul?",
    "does the psoas affect breathing?",
    "what exercises strengthen the psoas?",
    "can stress make my psoas tight?",
    "how do I release my psoas lying down?",
    "what does a tight psoas feel like?",
    "is walking good for the psoas?",
    "where is the psoas muscle?",
    "can a tight psoas cause knee pain?",
    "how often should I stretch?",
    "what is constructive rest position?",
    "should stretching hurt?",
    "can the psoas cause sciatica?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="rounds over the questions")
    parser.add_argument("--engine", default="rank-bm25", choices=["rank-bm25", "bm25s"])
    args = parser.parse_args()
    assistant = Assistant.from_corpus(engine=args.engine)
    # The floor always uses rank-bm25, on exactly the passages' index terms.
    engine = assistant.index.engine
    if not isinstance(engine, RankBM25Engine):
        engine = Assistant.from_corpus().index.engine
        assert isinstance(engine, RankBM25Engine)
    bare = engine._bm25
    words = {q: list(dict.fromkeys(assistant.index.analyzer.terms(q))) for q in QUESTIONS}
    for question in QUESTIONS * 3:  # warm up: first-call work (regexes, caches) is not timed
        assistant.ask(question)
        bare.get_scores(words[question])
    ask: list[float] = []
    cold: list[float] = []
    floor: list[float] = []
    per_question: list[float] = []
    clock = time.perf_counter_ns
    cached = assistant.index.engine
    for _ in range(args.rounds):
        for question in QUESTIONS:
            query = words[question]
            start = clock()
            bare.get_scores(query)
            middle = clock()
            assistant.ask(question)
            end = clock()
            if isinstance(cached, RankBM25Engine):
                warm, cached._vectors = cached._vectors, {}
                before = clock()
                assistant.ask(question)
                cold.append((clock() - before) / 1e6)
                cached._vectors = warm
            floor.append((middle - start) / 1e6)
            ask.append((end - middle) / 1e6)
            per_question.append((end - middle) / (middle - start))
    print(
        f"load average {os.getloadavg()[0]:.2f}; engine {args.engine}; "
        f"{len(assistant.index)} passages; {len(ask):,} questions asked"
    )
    series = [("ask", ask), ("ask, cold", cold), ("bare get_scores", floor)]
    for name, values in (s for s in series if s[1]):
        print(
            f"{name:>16}: p50 {statistics.median(values):.3f} ms, "
            f"p99 {percentile(values, 0.99):.3f} ms"
        )
    ratio = statistics.median(ask) / statistics.median(floor)
    print(f"ratio ask / floor: {ratio:.1f}x (medians; target <= 3x)")
    print(f"ratio per question: median {statistics.median(per_question):.1f}x")
    if cold:
        ratio = statistics.median(cold) / statistics.median(floor)
        print(f"ratio ask, cold / floor: {ratio:.1f}x (medians)")


if __name__ == "__main__":
    main()
