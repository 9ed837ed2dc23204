"""Answer quality ablation: each mechanism of docs/quality.md switched off (or changed)
one at a time, scored on a labelled question set with the dev set's scoring rule.

    python benchmarks/quality_ablation.py [tests/data/dev.jsonl] [--markdown]

Every row builds its own index from the built-in corpus and asks every question, so the
figures are exact and repeatable (no timing involved).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from unittest import mock

import psoasbot.answer
from psoasbot.answer import Assistant, QuerySettings
from psoasbot.evaluation import Report, evaluate, load_items
from psoasbot.index import IndexSettings

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "dev.jsonl"
FULL_INDEX = IndexSettings()
FULL_QUERY = QuerySettings()

# The index settings before any tuning: plain BM25 over paragraph-sized passages.
PLAIN_INDEX = IndexSettings(k1=1.2, b=0.75, heading_weight=2, title_weight=1, title_boost=0.0)
PLAIN_QUERY = QuerySettings(lexicon=False, min_confidence=0.0, diversity=False)


def variants() -> list[tuple[str, IndexSettings, QuerySettings, bool]]:
    """(label, index settings, query settings, triage on?) for each row."""
    i, q = FULL_INDEX, FULL_QUERY
    r = dataclasses.replace
    return [
        (
            "plain BM25 (k1 1.2, b 0.75, headings x2, title x1): no lexicon, threshold or triage",
            PLAIN_INDEX,
            PLAIN_QUERY,
            False,
        ),
        ("psoasbot as shipped", i, q, True),
        ("- lay-term lexicon", i, r(q, lexicon=False), True),
        ("  expansion weight 0.3", i, r(q, expansion_weight=0.3), True),
        ("  expansion weight 1.0", i, r(q, expansion_weight=1.0), True),
        ("- headings (weight 0)", r(i, heading_weight=0), q, True),
        ("  headings x2", r(i, heading_weight=2), q, True),
        ("- title field (title_boost 0)", r(i, title_boost=0.0), q, True),
        (
            "  title as text x1 instead of the title field",
            r(i, title_weight=1, title_boost=0.0),
            q,
            True,
        ),
        ("  k1 1.2, b 0.75", r(i, k1=1.2, b=0.75), q, True),
        ("  k1 2.0, b 0.9", r(i, k1=2.0, b=0.9), q, True),
        ("  smaller passages (25-80 words)", r(i, min_words=25, max_words=80), q, True),
        ("  larger passages (60-160 words)", r(i, min_words=60, max_words=160), q, True),
        ("+ pseudo-relevance feedback (3 terms x 0.3)", i, r(q, feedback_terms=3), True),
        ("+ best-sentence re-ranking (weight 1)", i, r(q, sentence_weight=1.0), True),
        ("- diversity", i, r(q, diversity=False), True),
        (
            "- abstention threshold (no_match only when nothing matches)",
            i,
            r(q, min_confidence=0.0),
            True,
        ),
        ("  threshold 0.30", i, r(q, min_confidence=0.30), True),
        ("  threshold 0.45", i, r(q, min_confidence=0.45), True),
        ("- red-flag triage", i, q, False),
    ]


def run(path: Path) -> list[tuple[str, Report]]:
    items = load_items(path)
    rows = []
    for label, index_settings, query_settings, triage in variants():
        assistant = Assistant.from_corpus(settings=index_settings, query_settings=query_settings)
        if triage:
            report = evaluate(assistant, items)
        else:
            with mock.patch.object(psoasbot.answer, "find_red_flags", return_value=[]):
                report = evaluate(assistant, items)
        rows.append((label, report))
    return rows


COLUMNS = [
    "S@1",
    "S@3",
    "MRR@5",
    "false_abstention",
    "oos_abstention",
    "red_flag_recall",
    "false_alarms",
]
HEADERS = ["S@1", "S@3", "MRR@5", "false abst.", "OOS abst.", "red-flag recall", "false alarms"]


def to_markdown(rows: list[tuple[str, Report]]) -> str:
    lines = [
        "| variant | " + " | ".join(HEADERS) + " |",
        "| --- | " + " | ".join("---:" for _ in HEADERS) + " |",
    ]
    for label, report in rows:
        cells = " | ".join(f"{report.metrics[c]:.3f}" for c in COLUMNS)
        lines.append(f"| {label} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_SET)
    args = parser.parse_args(argv)
    print(to_markdown(run(args.file)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
