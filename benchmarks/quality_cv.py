"""Answer quality, cross-validated: in-sample and 5-fold figures, and the ablation.

    python benchmarks/quality_cv.py [SET.jsonl ...] [--folds 5] [--ablation] [--markdown]
    python benchmarks/quality_cv.py --semantic [--fusion weighted|rrf] [--ablation]

By default the two development sets, tests/data/dev.jsonl and tests/data/dev2.jsonl. The
weight and the threshold that people would tune (`GRID`: the expansion weight of
QuerySettings; the topicality threshold of ScopeSettings) are fitted on four
folds by `objective` and scored on the fifth; the five held-out parts together give the
cross-validated figures, printed beside the in-sample ones (fitted and scored on
everything). A mechanism that helps only in-sample is memorisation, not a gain.

With --semantic (needs `pip install '.[semantic]'`), the words-only figures come first,
then those with semantic matching, whose folds fit the fusion weight (`SEMANTIC_GRID`)
and the off-topic margin of ScopeSettings (`OFF_TOPIC_MARGIN`); the lexical side keeps
its shipped weight and threshold. `--fusion rrf` ranks by reciprocal-rank fusion instead
of the shipped weighted sum, to compare the two (its k is fitted too).

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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from psoasbot import Assistant, QuerySettings, ScopeSettings
from psoasbot.evaluation import (
    EVAL_K,
    KINDS,
    EvalItem,
    Outcome,
    Report,
    first_gold_rank,
    load_items,
    report_of,
)
from psoasbot.query import Query
from psoasbot.retrieval import Retriever

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEFAULT_SETS = [DATA / "dev.jsonl", DATA / "dev2.jsonl"]
# What the folds fit, each with the values tried.
GRID: dict[str, tuple[float, ...]] = {"expansion_weight": (0.3, 0.5, 0.7, 1.0)}
THRESHOLDS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
# With --semantic, also the fusion weight (and with --fusion rrf, RRF's k) ...
SEMANTIC_GRID: dict[str, tuple[float, ...]] = {"semantic_weight": (0.3, 0.4, 0.5, 0.6, 0.7)}
RRF_GRID: dict[str, tuple[float, ...]] = {
    "semantic_weight": (0.1, 0.2, 0.3, 0.4, 0.5),
    "rrf_k": (5.0, 10.0, 30.0, 60.0),
}
# ... and the off-topic margin of scope (inf: no off-topic subject by meaning).
OFF_TOPIC_MARGIN = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, math.inf)
# A fold's fit keeps to rules that refuse at most this share of its answerable questions.
MAX_FALSE_ABSTENTION = 0.03
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


# A scope rule: (min_topicality, off_topic_margin).
Rule = tuple[float, float]
RULE_NAMES = ("min_topicality", "off_topic_margin")


@dataclasses.dataclass(frozen=True)
class Trial:
    """What one question got under one retrieval setting, whatever the thresholds."""

    item: EvalItem
    status: str
    urgent: bool
    rank: int | None
    top: tuple[str, ...]
    topicality: float  # of the question's most topical word; -inf when none
    similarity: float | None = None  # the best passage's, with semantic matching
    # With semantic matching: how much closer the closest off-topic phrase is than it.
    off_topic_gap: float = -math.inf

    def outcome(self, rule: Rule) -> Outcome:
        """Return the outcome under a scope rule, as scope.py applies it."""
        min_topicality, off_topic_margin = rule
        refused = self.topicality < min_topicality or self.off_topic_gap >= off_topic_margin
        if self.status == "answered" and refused:
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
    semantic: bool = False
    grid: Mapping[str, Sequence[float]] = dataclasses.field(default_factory=dict)
    off_topic_margin: Sequence[float] = OFF_TOPIC_MARGIN

    def rules(self) -> list[Rule]:
        margins = self.off_topic_margin if self.semantic and self.off_topic else (math.inf,)
        return list(itertools.product(self.thresholds, margins))


class _Remembered:
    """An embedder that embeds each question once: every setting of the grid asks them all."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self._vectors: dict[str, Any] = {}
        self.model_id = embedder.model_id
        self.description = embedder.description

    def embed(self, text: str) -> Any:
        if text not in self._vectors:
            self._vectors[text] = self._embedder.embed(text)
        return self._vectors[text]


_REMEMBERED: dict[int, _Remembered] = {}


def run(
    items: Sequence[EvalItem],
    query: QuerySettings,
    off_topic: bool,
    triage: bool,
    semantic: bool = False,
) -> list[Trial]:
    """Ask every question once with the thresholds off; they are applied later."""
    scope = ScopeSettings(min_topicality=-math.inf, off_topic=off_topic, off_topic_margin=math.inf)
    assistant = Assistant.from_corpus(
        query_settings=query, scope_settings=scope, triage=triage, semantic=semantic
    )
    index = assistant.retriever.semantic
    if index is not None:
        from psoasbot.semantic import SemanticIndex

        remembered = _REMEMBERED.setdefault(id(index.embedder), _Remembered(index.embedder))
        assistant.retriever.semantic = SemanticIndex(remembered, index.passages, index.subjects)  # type: ignore[arg-type]
    trials = []
    for item in items:
        answer = assistant.ask(item.question, k=EVAL_K)
        rank = first_gold_rank(answer, item.gold) if item.kind == "answerable" else None
        topicality = answer.verdict.topicality if answer.verdict else -math.inf
        similarity = answer.verdict.similarity if answer.verdict else None
        gap = -math.inf
        if similarity is not None and not answer.verdict.off_topic:  # type: ignore[union-attr]
            closest = assistant.scope.closest_subject(assistant.retriever.query(item.question))
            gap = closest[1] - similarity if closest else -math.inf
        top = tuple(h.id for h in answer.passages)
        trials.append(
            Trial(item, answer.status, answer.urgent, rank, top, topicality, similarity, gap)
        )
    return trials


def rrf(k: float) -> Callable[[Retriever, Query, Any, int], list[Any]]:
    """Return a `Retriever._fused` that ranks by reciprocal-rank fusion, with this k.

    The lexical ranking is the shipped one (BM25 after the overview, the top 20); the
    embedding ranking covers every passage. Each contributes weight / (k + rank), the
    embedding `semantic_weight` and BM25 the rest.
    """
    import numpy as np

    from psoasbot._ranking import top_k
    from psoasbot.models import Hit

    def fused(self: Retriever, query: Query, similarities: Any, pool: int) -> list[Any]:
        lexical = self.index.search(query.weights, max(pool, 50)) if query.weights else []
        if query.broad and self.settings.overview:
            lexical = self._overview(lexical)
        lexical = lexical[:20]
        weight = self.settings.semantic_weight
        scores = np.zeros(len(self.index.passages))
        order = np.lexsort((np.arange(len(similarities)), -similarities))
        scores[order] += weight / (k + np.arange(1, len(order) + 1))
        position = {p.id: i for i, p in enumerate(self.index.passages)}
        for rank, hit in enumerate(lexical, 1):
            scores[position[hit.passage.id]] += (1 - weight) / (k + rank)
        return [Hit(self.index.passages[i], float(scores[i]), 0) for i in top_k(scores, pool)]

    return fused


def objective(report: Report) -> float:
    """What a fold's fit maximises: MRR@5 (a refusal scores 0) + half the OOS abstention.

    Among the rules that keep false abstention within MAX_FALSE_ABSTENTION.
    """
    m = report.metrics
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
    grid = {**GRID, **variant.grid}
    settings: list[dict[str, Any]] = [
        dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())
    ]
    trials = {}
    for n, values in enumerate(settings):
        query_values = {k: v for k, v in values.items() if k != "rrf_k"}
        if "rrf_k" in values:
            Retriever._fused = rrf(values["rrf_k"])  # type: ignore[method-assign,assignment]
        query = variant.query(QuerySettings(**query_values))
        trials[n] = run(items, query, variant.off_topic, variant.triage, variant.semantic)
    choices = [(n, rule) for n in trials for rule in variant.rules()]
    fold = fold_of(items, folds)

    def fit(keep: Callable[[EvalItem], bool]) -> tuple[int, Rule]:
        best: tuple[float, int, Rule] | None = None
        for n, rule in choices:
            report = report_of([t.outcome(rule) for t in trials[n] if keep(t.item)])
            if report.metrics["false_abstention"] > MAX_FALSE_ABSTENTION:
                continue
            value = objective(report)
            # Ties go to the first setting of the grid, so the choice is repeatable.
            if best is None or value > best[0]:
                best = (value, n, rule)
        assert best is not None, "no rule keeps false abstention within the budget"
        return best[1], best[2]

    def described(n: int, rule: Rule) -> dict[str, Any]:
        names = RULE_NAMES if variant.semantic else RULE_NAMES[:1]
        return {**settings[n], **dict(zip(names, rule[: len(names)], strict=True))}

    best = fit(lambda item: True)
    in_sample = {t.item.id: t.outcome(best[1]) for t in trials[best[0]]}
    held_out: Outcomes = {}
    chosen: list[dict[str, Any]] = [described(*best)]
    for f in range(folds):
        n, rule = fit(lambda item, f=f: fold[item.id] != f)  # type: ignore[misc]
        chosen.append(described(n, rule))
        for t in trials[n]:
            if fold[t.item.id] == f:
                held_out[t.item.id] = t.outcome(rule)
    return in_sample, held_out, chosen


def variants(semantic: bool = False, fusion: str = "weighted") -> list[Variant]:
    r = dataclasses.replace
    plain = [
        Variant("psoasbot as shipped"),
        Variant("- spelling correction", query=lambda q: r(q, spelling=False)),
        Variant("- lay-term lexicon", query=lambda q: r(q, lexicon=False)),
        Variant("- overview for broad questions", query=lambda q: r(q, overview=False)),
        Variant("- diversity", query=lambda q: r(q, diversity=False)),
        Variant("- off-topic subjects", off_topic=False),
        Variant("- topicality threshold", thresholds=(-math.inf,)),
        Variant("- red-flag triage", triage=False),
    ]
    if not semantic:
        return plain
    # The lexical side stays as shipped (its weight and threshold are the words-only
    # fit), so that one QuerySettings and one ScopeSettings serve both modes.
    shipped = QuerySettings(), ScopeSettings()
    fitted = RRF_GRID if fusion == "rrf" else SEMANTIC_GRID
    grid = {"expansion_weight": (shipped[0].expansion_weight,), **fitted}
    on = Variant(
        "with semantic matching",
        semantic=True,
        grid=grid,
        thresholds=(shipped[1].min_topicality,),
    )
    return [
        on,
        r(on, label="  - fusion (BM25 ranks alone)", grid={"semantic_weight": (0.0,)}),
        r(on, label="  - off-topic subjects by meaning", off_topic_margin=(math.inf,)),
        r(on, label="  - lay-term lexicon", query=lambda q: r(q, lexicon=False)),
        r(on, label="  - off-topic subjects (words and meaning)", off_topic=False),
        r(on, label="  - topicality threshold", thresholds=(-math.inf,)),
        plain[0],
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
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="also with semantic matching (needs the [semantic] extra), fitting its settings",
    )
    parser.add_argument(
        "--fusion",
        choices=("weighted", "rrf"),
        default="weighted",
        help="with --semantic: the shipped weighted sum, or reciprocal-rank fusion",
    )
    args = parser.parse_args(argv)
    sets = [(path.name, load_items(path)) for path in args.sets]
    items = [item for _, some in sets for item in some]

    shipped, *others = variants(args.semantic, args.fusion)
    mains = [others.pop(), shipped] if args.semantic else [shipped]
    results = {}
    for variant in mains:
        results[variant.label] = in_sample, held_out, chosen = cross_validate(
            items, variant, args.folds
        )
        print(f"{variant.label}: fitted on everything: {chosen[0]}")
        for f, choice in enumerate(chosen[1:]):
            print(f"fold {f}: {choice}")
        print()
    header = ["set", "figures", *METRICS]
    rows = []
    order = [n for n, _ in sets] + ["all"]
    for name in order:
        for variant in mains:
            in_sample, held_out, _ = results[variant.label]
            for label, outcomes in (("in-sample", in_sample), (f"{args.folds}-fold CV", held_out)):
                metrics = dict(figures(outcomes, sets))[name]
                words = "" if variant.semantic or not args.semantic else "words only, "
                mode = "semantic, " if variant.semantic else words
                rows.append([name, mode + label, *(f"{metrics[m]:.3f}" for m in METRICS)])
    print(_table(header, rows, args.markdown))
    if args.ablation:
        print()
        header = ["variant", *(f"{m} CV" for m in METRICS)]
        rows = []
        for variant in [shipped, *others]:
            outcomes = (
                results[variant.label][1]
                if variant.label in results
                else cross_validate(items, variant, args.folds)[1]
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
