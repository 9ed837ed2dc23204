"""Score an assistant on labelled question sets (`psoasbot eval FILE.jsonl [FILE ...]`).

A question set is JSON Lines: one object a line with an `id`, a `kind` (answerable,
out_of_scope or red_flag), the `question`, and for an answerable one its `gold` strings
(tests/data/dev.jsonl is one). A returned passage *contains* a gold string when, after
both are normalised (NFKC, lowercase, tokens matching [a-z0-9]+), the gold's tokens occur
contiguously in the passage's tokens. docs/quality.md explains each metric.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from psoasbot.answer import Assistant
from psoasbot.errors import PsoasbotError
from psoasbot.models import Answer

Kind = Literal["answerable", "out_of_scope", "red_flag"]
KINDS: tuple[Kind, ...] = ("answerable", "out_of_scope", "red_flag")
EVAL_K = 5
_TOKEN = re.compile(r"[a-z0-9]+")


class EvalFileError(PsoasbotError):
    """A question set cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class EvalItem:
    id: str
    kind: Kind
    question: str
    gold: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """How the assistant did on one item."""

    item: EvalItem
    status: str
    urgent: bool
    rank: int | None  # 1-based rank of the first passage containing a gold string
    top: tuple[str, ...]  # ids of the returned passages
    reason: str | None = None  # why the articles do or don't cover it (scope.py)

    @property
    def correct(self) -> bool:
        if self.item.kind == "answerable":
            return self.rank == 1 and not self.urgent
        if self.item.kind == "out_of_scope":
            return self.status == "no_match" and not self.urgent
        return self.urgent


@dataclass(frozen=True)
class Report:
    metrics: dict[str, float]
    counts: dict[str, int]
    outcomes: tuple[Outcome, ...] = field(repr=False)

    @property
    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "counts": self.counts,
            "misses": [
                {
                    "id": o.item.id,
                    "kind": o.item.kind,
                    "question": o.item.question,
                    "status": o.status,
                    "urgent": o.urgent,
                    "rank": o.rank,
                    "top": list(o.top),
                    "reason": o.reason,
                }
                for o in self.misses
            ],
        }


def tokens(text: str) -> list[str]:
    """Normalise text the way the scoring rule does."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


def contains(passage: str, gold: str) -> bool:
    """Tell whether the gold string's tokens occur contiguously in the passage's."""
    p, g = tokens(passage), tokens(gold)
    if not g:
        return False
    n = len(g)
    return any(p[i : i + n] == g for i in range(len(p) - n + 1))


def load_items(path: str | Path) -> list[EvalItem]:
    """Read a question set (JSON Lines).

    Raises:
        EvalFileError: the file is missing or a line is not a valid item.
    """
    path = Path(path)
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot be read ({exc}); pass a UTF-8 .jsonl file") from exc
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalFileError(
                f"{where}: not valid JSON ({exc.msg}); one object per line"
            ) from exc
        if not isinstance(obj, dict):
            raise EvalFileError(f"{where}: expected a JSON object with id, kind and question")
        kind = obj.get("kind")
        if kind not in KINDS:
            found = "kind is missing" if kind is None else f"kind is {kind!r}"
            raise EvalFileError(f"{where}: {found}; use one of {', '.join(KINDS)}")
        question = obj.get("question")
        if not isinstance(question, str) or not question.strip():
            raise EvalFileError(f"{where}: question is missing or empty")
        gold = obj.get("gold") or []
        if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
            raise EvalFileError(f"{where}: gold must be a list of strings")
        if kind == "answerable" and not gold:
            raise EvalFileError(f"{where}: an answerable item needs at least one gold string")
        items.append(EvalItem(str(obj.get("id", number)), kind, question, tuple(gold)))
    if not items:
        raise EvalFileError(f"{path}: holds no questions")
    return items


def first_gold_rank(answer: Answer, gold: Sequence[str]) -> int | None:
    for hit in answer.passages:
        if any(contains(hit.text, g) for g in gold):
            return hit.rank
    return None


def evaluate(assistant: Assistant, items: Iterable[EvalItem], k: int = EVAL_K) -> Report:
    """Ask every question and compute the metrics of the scoring rule."""
    outcomes = []
    for item in items:
        answer = assistant.ask(item.question, k=k)
        rank = first_gold_rank(answer, item.gold) if item.kind == "answerable" else None
        top = tuple(h.id for h in answer.passages)
        reason = answer.verdict.reason if answer.verdict else None
        outcomes.append(Outcome(item, answer.status, answer.urgent, rank, top, reason))
    return report_of(outcomes)


def report_of(outcomes: Sequence[Outcome]) -> Report:
    """Compute the metrics of outcomes: of one question set, or of several together."""
    return Report(_metrics(outcomes), _counts(outcomes), tuple(outcomes))


def _share(values: list[bool] | list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def _metrics(outcomes: Sequence[Outcome]) -> dict[str, float]:
    ans = [o for o in outcomes if o.item.kind == "answerable"]
    oos = [o for o in outcomes if o.item.kind == "out_of_scope"]
    red = [o for o in outcomes if o.item.kind == "red_flag"]
    return {
        "S@1": _share([o.rank == 1 for o in ans]),
        "S@3": _share([o.rank is not None and o.rank <= 3 for o in ans]),
        "MRR@5": _share([1 / o.rank if o.rank and o.rank <= 5 else 0.0 for o in ans]),
        "false_abstention": _share([o.status == "no_match" for o in ans]),
        "oos_abstention": _share([o.status == "no_match" for o in oos]),
        "red_flag_recall": _share([o.urgent for o in red]),
        "false_alarms": _share([o.urgent for o in ans + oos]),
    }


def _counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    return {kind: sum(o.item.kind == kind for o in outcomes) for kind in KINDS}


# The kinds of question each metric is a share of (shown as "-" when a set has none).
METRIC_KINDS: dict[str, tuple[Kind, ...]] = {
    "S@1": ("answerable",),
    "S@3": ("answerable",),
    "MRR@5": ("answerable",),
    "false_abstention": ("answerable",),
    "oos_abstention": ("out_of_scope",),
    "red_flag_recall": ("red_flag",),
    "false_alarms": ("answerable", "out_of_scope"),
}
METRIC_LABELS = {
    "S@1": "S@1",
    "S@3": "S@3",
    "MRR@5": "MRR@5",
    "false_abstention": "false abstention",
    "oos_abstention": "out-of-scope abstention",
    "red_flag_recall": "red-flag recall",
    "false_alarms": "false alarms",
}


def report_to_text(report: Report) -> str:
    """Render the metrics, then one line per miss."""
    c = report.counts
    lines = [
        f"{sum(c.values())} questions: {c['answerable']} answerable, "
        f"{c['out_of_scope']} out of scope, {c['red_flag']} red flag",
        "",
    ]
    for key, label in METRIC_LABELS.items():
        lines.append(f"{label:<24}{_figure(report, key)}")
    return "\n".join(lines + _misses(report))


def reports_to_text(reports: Sequence[tuple[str, Report]]) -> str:
    """Render several question sets side by side with all of them together, then the misses."""
    if len(reports) == 1:
        return report_to_text(reports[0][1])
    together = report_of([o for _, r in reports for o in r.outcomes])
    names = [Path(name).name for name, _ in reports]
    if len(set(names)) < len(names):  # the same file name in two folders
        names = [name for name, _ in reports]
    columns = [*zip(names, (r for _, r in reports), strict=True), ("all", together)]
    width = max(10, *(len(name) + 2 for name, _ in columns))
    lines = [" " * 24 + "".join(f"{name:>{width}}" for name, _ in columns)]
    for kind, label in (("", "questions"), *((k, f"  {k.replace('_', ' ')}") for k in KINDS)):
        counts = [sum(r.counts.values()) if not kind else r.counts[kind] for _, r in columns]
        lines.append(f"{label:<24}" + "".join(f"{c:>{width}}" for c in counts))
    lines.append("")
    for key, label in METRIC_LABELS.items():
        lines.append(f"{label:<24}" + "".join(f"{_figure(r, key):>{width}}" for _, r in columns))
    return "\n".join(lines + _misses(together))


def _figure(report: Report, metric: str) -> str:
    if not any(report.counts[kind] for kind in METRIC_KINDS[metric]):
        return "-"
    return f"{report.metrics[metric]:.3f}"


def _misses(report: Report) -> list[str]:
    misses = report.misses
    lines = ["", f"misses ({len(misses)}):" if misses else "no misses"]
    for o in misses:
        if o.item.kind == "answerable":
            why = "no match" if o.status == "no_match" else f"gold at rank {o.rank or '-'}"
        elif o.item.kind == "out_of_scope":
            why = "answered" if o.status == "answered" else "flagged urgent"
        else:
            why = "not flagged urgent"
        if o.urgent and o.item.kind != "red_flag":
            why += ", false alarm"
        top = ", ".join(o.top[:3]) or "no passages"
        lines.append(f"  {o.item.id} [{o.item.kind}] {why}: {o.item.question}")
        lines.append(f"      top: {top}")
        if o.reason and o.item.kind != "red_flag":
            lines.append(f"      scope: {o.reason}")
    return lines
