"""Scale: build time, peak memory and query time of each engine on synthetic corpora.

Corpora of 10k, 100k and 1M passages are generated (Zipf vocabulary, fixed seed: see
_synthetic.py), never written to disk. Each engine and size runs in a child process of
its own, one after another, so that its peak memory (ru_maxrss) is its own. A query is
`Index.search(question, k=3)` for questions of 3-8 words drawn from the corpus's word law;
both engines answer the same questions, and the speed-up is the ratio of their medians
over the questions both ran (rank-bm25 stops after --budget seconds of queries).

`--folder N` instead writes N passages as Markdown documents to a temporary folder and
builds `Assistant.from_corpus(folder, engine="bm25s")` from it: the documents are streamed
(read, chunked, indexed one by one), so peak memory follows the index, not the text.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 10000 100000 1000000]
    .venv/bin/python benchmarks/bench_scale.py --folder 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _synthetic

ENGINES = ("rank-bm25", "bm25s")


def peak_rss() -> int:
    """Return this process's peak resident memory in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def child_index(engine: str, size: int, queries: int, budget: float) -> dict[str, Any]:
    from psoasbot.index import Index

    start_rss = current_rss()
    started = time.perf_counter()
    passages = list(_synthetic.passages(size))
    generated = time.perf_counter() - started
    passages_rss = current_rss() - start_rss
    started, cpu = time.perf_counter(), time.process_time()
    index = Index(passages, engine=engine)
    build, build_cpu = time.perf_counter() - started, time.process_time() - cpu
    del passages
    times: list[float] = []
    spent = time.perf_counter()
    for question in _synthetic.questions(queries):
        started = time.perf_counter()
        index.search(question, 3)
        times.append(time.perf_counter() - started)
        if time.perf_counter() - spent > budget and len(times) >= 20:
            break
    peak = peak_rss()  # before the cache round trip, which loads a second copy
    cached = cache_round_trip(index) if engine == "bm25s" else {}
    return {
        **cached,
        "peak_bytes": peak,
        "engine": engine,
        "size": size,
        "generate_s": generated,
        "build_s": build,
        "build_cpu_s": build_cpu,
        "passages_bytes": passages_rss,
        "query_s": times,
    }


def cache_round_trip(index: object) -> dict[str, float]:
    """Store the index in the on-disk cache and load it back, as a later process would."""
    from psoasbot.cache import _load, _store

    with tempfile.TemporaryDirectory() as folder:
        path, key = Path(folder) / "index.pickle", b"k" * 32
        started = time.perf_counter()
        _store(path, key, index)
        stored = time.perf_counter()
        size = path.stat().st_size
        _load(path, key)
        return {
            "cache_store_s": stored - started,
            "cache_load_s": time.perf_counter() - stored,
            "cache_bytes": size,
        }


def child_folder(size: int) -> dict[str, Any]:
    from psoasbot.answer import Assistant

    with tempfile.TemporaryDirectory() as folder:
        written = _synthetic.write_documents(Path(folder), size)
        start_rss = current_rss()
        started = time.perf_counter()
        assistant = Assistant.from_corpus(folder, engine="bm25s")
        build = time.perf_counter() - started
        return {
            "size": size,
            "passages": len(assistant.index),
            "documents": len(assistant.sources()),
            "text_bytes": written,
            "start_bytes": start_rss,
            "peak_bytes": peak_rss(),
            "build_s": build,
        }


def run_child(*args: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--queries", type=int, default=300, help="questions per run")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of queries per run")
    parser.add_argument("--folder", type=int, help="build from a folder of this many passages")

    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child[0] == "folder":
            print(json.dumps(child_folder(int(args.child[1]))))
        else:
            engine, size = args.child[0], int(args.child[1])
            print(json.dumps(child_index(engine, size, args.queries, args.budget)))
        return
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    if args.folder:
        r = run_child("folder", str(args.folder))
        print(
            f"folder of {r['documents']:,} documents ({gb(r['text_bytes'])} of text) -> "
            f"{r['passages']:,} passages: build {r['build_s']:.1f} s, peak memory "
            f"{gb(r['peak_bytes'])} ({gb(r['start_bytes'])} before reading)"
        )
        return
    for size in args.sizes:
        results: dict[str, dict[str, Any]] = {}
        for engine in args.engines:
            options = ["--queries", str(args.queries), "--budget", str(args.budget)]
            r = results[engine] = run_child(engine, str(size), *options)
            q = r["query_s"]
            print(
                f"{size:>9,} passages {engine:>9}: build {r['build_s']:6.1f} s "
                f"(cpu {r['build_cpu_s']:.1f} s), peak memory {gb(r['peak_bytes'])} (passages "
                f"{gb(r['passages_bytes'])}), query p50 {statistics.median(q) * 1000:.2f} ms, "
                f"p99 {percentile(q, 0.99) * 1000:.2f} ms ({len(q)} queries), "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            if "cache_bytes" in r:
                print(
                    f"{size:>9,} passages {engine:>9}: index cache {gb(r['cache_bytes'])}, "
                    f"written in {r['cache_store_s']:.1f} s, loaded in {r['cache_load_s']:.1f} s"
                )
        if len(results) == 2:
            slow, fast = results["rank-bm25"]["query_s"], results["bm25s"]["query_s"]
            both = min(len(slow), len(fast))
            ratio = statistics.median(slow[:both]) / statistics.median(fast[:both])
            print(f"{size:>9,} passages: bm25s is {ratio:,.0f}x faster (medians, {both} queries)")


if __name__ == "__main__":
    main()
