"""Answer quality, cross-validated: in-sample and 5-fold figures, and the ablation.

    python benchmarks/quality_cv.py [SET.jsonl ...] [--folds 5] [--ablation] [--markdown]

By default the two development sets, tests/data/dev.jsonl and tests/data/dev2.jsonl. The
weight and the threshold that people would tune (`GRID`: the expansion weight of
QuerySettings; the topicality threshold of ScopeSettings) are fitted on four
folds by `objective` and scored on the fifth; the five held-out parts together give the
cross-validated figures, printed beside the in-sample ones (fitted and scored on
everything). A mechanism that helps only in-sample is memorisation, not a gain.

The folds are stratified by kind (answerable, out of scope, red flag) and fixed by each
question's id, so every run gives the same figures (no timing involved). With
--ablation, each mechanism is switched off in turn and the whole cross-validation is run
again.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from psoasbot import Assistant, QuerySettings, ScopeSettings
from psoasbot.evaluation import (
    EVAL_K,
    KINDS,
    EvalItem,
    Outcome,
    first_gold_rank,
    load_items,
    report_of,
)

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEFAULT_SETS = [DATA / "dev.jsonl", DATA / "dev2.jsonl"]
# What the folds fit, each with the values tried.
GRID = {"expansion_weight": (0.3, 0.5, 0.7, 1.0)}
THRESHOLDS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
# A refused answerable question costs more than an answered out-of-scope one, which still
# carries the disclaimer: out-of-scope abstention counts half as much as MRR@5.
OOS_WEIGHT = 0.5
METRICS = (
    "S@1",
    "S@3",
    "MRR@5",
    "false_abstention",
    "oos_abstention",
    "red_flag_recall",
    "false_alarms",
)


@dataclasses.dataclass(frozen=True)
class Trial:
    """What one question got under one retrieval setting, whatever the threshold."""

    item: EvalItem
    status: str
    urgent: bool
    rank: int | None
    top: tuple[str, ...]
    topicality: float  # of the question's most topical word; -inf when none

    def outcome(self, threshold: float) -> Outcome:
        """Return the outcome under a topicality threshold: below it, "not covered"."""
        refused = self.status == "answered" and self.topicality < threshold
        if refused:
            return Outcome(self.item, "no_match", self.urgent, None, ())
        return Outcome(self.item, self.status, self.urgent, self.rank, self.top)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One row: a mechanism switched off (or the settings as shipped)."""

    label: str
    query: Callable[[QuerySettings], QuerySettings] = lambda q: q
    thresholds: Sequence[float] = THRESHOLDS
    off_topic: bool = True
    triage: bool = True


def run(
    items: Sequence[EvalItem], query: QuerySettings, off_topic: bool, triage: bool
) -> list[Trial]:
    """Ask every question once with the threshold off; the threshold is applied later."""
    scope = ScopeSettings(min_topicality=-math.inf, off_topic=off_topic)
    assistant = Assistant.from_corpus(query_settings=query, scope_settings=scope, triage=triage)
    trials = []
    for item in items:
        answer = assistant.ask(item.question, k=EVAL_K)
        rank = first_gold_rank(answer, item.gold) if item.kind == "answerable" else None
        topicality = answer.verdict.topicality if answer.verdict else -math.inf
        top = tuple(h.id for h in answer.passages)
        trials.append(Trial(item, answer.status, answer.urgent, rank, top, topicality))
    return trials


def objective(outcomes: Sequence[Outcome]) -> float:
    """What a fold's fit maximises: MRR@5 (a refusal scores 0) + half the OOS abstention."""
    m = report_of(outcomes).metrics
    return m["MRR@5"] + OOS_WEIGHT * m["oos_abstention"]


def fold_of(items: Sequence[EvalItem], folds: int) -> dict[str, int]:
    """Assign each question to a fold: by kind, in the order of a hash of its id."""
    assignment = {}
    for kind in KINDS:
        of_kind = sorted(
            (i for i in items if i.kind == kind),
            key=lambda i: hashlib.sha256(i.id.encode()).hexdigest(),
        )
        for n, item in enumerate(of_kind):
            assignment[item.id] = n % folds
    return assignment


Outcomes = dict[str, Outcome]


def cross_validate(
    items: Sequence[EvalItem], variant: Variant, folds: int
) -> tuple[Outcomes, Outcomes, list[dict[str, Any]]]:
    """Return the in-sample outcomes, the cross-validated ones, and each fold's choice."""
    settings: list[dict[str, Any]] = [
        dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())
    ]
    trials = {}
    for n, values in enumerate(settings):
        query = variant.query(QuerySettings(**values))
        trials[n] = run(items, query, variant.off_topic, variant.triage)
    choices = [(n, t) for n in trials for t in variant.thresholds]

    def fit(keep: Callable[[EvalItem], bool]) -> tuple[int, float]:
        # Ties go to the first setting of the grid, so the choice is repeatable.
        return max(
            choices,
            key=lambda c: objective([t.outcome(c[1]) for t in trials[c[0]] if keep(t.item)]),
        )

    fold = fold_of(items, folds)
    best = fit(lambda item: True)
    in_sample = {t.item.id: t.outcome(best[1]) for t in trials[best[0]]}
    held_out: Outcomes = {}
    chosen: list[dict[str, Any]] = []
    for f in range(folds):
        n, threshold = fit(lambda item, f=f: fold[item.id] != f)  # type: ignore[misc]
        chosen.append({**settings[n], "min_topicality": threshold})
        for t in trials[n]:
            if fold[t.item.id] == f:
                held_out[t.item.id] = t.outcome(threshold)
    chosen.insert(0, {**settings[best[0]], "min_topicality": best[1]})
    return in_sample, held_out, chosen


def variants() -> list[Variant]:
    r = dataclasses.replace
    return [
        Variant("psoasbot as shipped"),
        Variant("- spelling correction", query=lambda q: r(q, spelling=False)),
        Variant("- lay-term lexicon", query=lambda q: r(q, lexicon=False)),
        Variant("- overview for broad questions", query=lambda q: r(q, overview=False)),
        Variant("- diversity", query=lambda q: r(q, diversity=False)),
        Variant("- off-topic subjects", off_topic=False),
        Variant("- topicality threshold", thresholds=(-math.inf,)),
        Variant("- red-flag triage", triage=False),
    ]


def figures(
    outcomes: Outcomes, sets: Sequence[tuple[str, list[EvalItem]]]
) -> list[tuple[str, dict[str, float]]]:
    rows = [(name, report_of([outcomes[i.id] for i in items]).metrics) for name, items in sets]
    rows.append(("all", report_of(list(outcomes.values())).metrics))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", type=Path, default=DEFAULT_SETS)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--ablation", action="store_true", help="also switch each mechanism off")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    sets = [(path.name, load_items(path)) for path in args.sets]
    items = [item for _, some in sets for item in some]

    shipped, *others = variants()
    in_sample, held_out, chosen = cross_validate(items, shipped, args.folds)
    print(f"fitted on everything: {chosen[0]}")
    for f, choice in enumerate(chosen[1:]):
        print(f"fold {f}: {choice}")
    print()
    header = ["set", "figures", *METRICS]
    rows = []
    for label, outcomes in (("in-sample", in_sample), (f"{args.folds}-fold CV", held_out)):
        for name, metrics in figures(outcomes, sets):
            rows.append([name, label, *(f"{metrics[m]:.3f}" for m in METRICS)])
    rows.sort(key=lambda row: [n for n, _ in sets].index(row[0]) if row[0] != "all" else len(sets))
    print(_table(header, rows, args.markdown))
    if args.ablation:
        print()
        header = ["variant", *(f"{m} CV" for m in METRICS)]
        rows = []
        for variant in [shipped, *others]:
            outcomes = (
                held_out if variant is shipped else cross_validate(items, variant, args.folds)[1]
            )
            metrics = report_of(list(outcomes.values())).metrics
            rows.append([variant.label, *(f"{metrics[m]:.3f}" for m in METRICS)])
            print(f"  done: {variant.label}", file=sys.stderr)
        print(_table(header, rows, args.markdown))
    return 0


def _table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
        return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(f"{x:<{w}}" for x, w in zip(row, widths, strict=True)) for row in [header, *rows]
    )


if __name__ == "__main__":
    raise SystemExit(main())
