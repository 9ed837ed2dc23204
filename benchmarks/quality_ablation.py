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

from psoasbot import Assistant, IndexSettings, QuerySettings, ScopeSettings
from psoasbot.evaluation import Report, evaluate, load_items

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "dev.jsonl"


@dataclasses.dataclass(frozen=True)
class Variant:
    """One row: the settings an assistant is built with."""

    label: str
    index: IndexSettings = IndexSettings()
    query: QuerySettings = QuerySettings()
    scope: ScopeSettings = ScopeSettings()
    triage: bool = True


# The settings before any tuning: plain BM25 over paragraph-sized passages.
PLAIN = Variant(
    "plain BM25 (k1 1.2, b 0.75, headings x2, title x1): no lexicon, threshold or triage",
    IndexSettings(k1=1.2, b=0.75, heading_weight=2, title_weight=1, title_boost=0.0),
    QuerySettings(lexicon=False, diversity=False),
    ScopeSettings(min_confidence=0.0),
    triage=False,
)


def variants() -> list[Variant]:
    """Each row of the table: "psoasbot as shipped" with one thing changed."""
    i, q, s = IndexSettings(), QuerySettings(), ScopeSettings()
    r = dataclasses.replace
    return [
        PLAIN,
        Variant("psoasbot as shipped"),
        Variant("- lay-term lexicon", query=r(q, lexicon=False)),
        Variant("  expansion weight 0.3", query=r(q, expansion_weight=0.3)),
        Variant("  expansion weight 1.0", query=r(q, expansion_weight=1.0)),
        Variant("- headings (weight 0)", index=r(i, heading_weight=0)),
        Variant("  headings x2", index=r(i, heading_weight=2)),
        Variant("- title field (title_boost 0)", index=r(i, title_boost=0.0)),
        Variant(
            "  title as text x1 instead of the title field",
            index=r(i, title_weight=1, title_boost=0.0),
        ),
        Variant("  k1 1.2, b 0.75", index=r(i, k1=1.2, b=0.75)),
        Variant("  k1 2.0, b 0.9", index=r(i, k1=2.0, b=0.9)),
        Variant("  smaller passages (25-80 words)", index=r(i, min_words=25, max_words=80)),
        Variant("  larger passages (60-160 words)", index=r(i, min_words=60, max_words=160)),
        Variant("- diversity", query=r(q, diversity=False)),
        Variant(
            "- abstention threshold (no_match only when nothing matches)",
            scope=r(s, min_confidence=0.0),
        ),
        Variant("  threshold 0.30", scope=r(s, min_confidence=0.30)),
        Variant("  threshold 0.45", scope=r(s, min_confidence=0.45)),
        Variant("- red-flag triage", triage=False),
    ]


def run(path: Path) -> list[tuple[str, Report]]:
    items = load_items(path)
    rows = []
    for v in variants():
        assistant = Assistant.from_corpus(
            settings=v.index, query_settings=v.query, scope_settings=v.scope, triage=v.triage
        )
        rows.append((v.label, evaluate(assistant, items)))
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
