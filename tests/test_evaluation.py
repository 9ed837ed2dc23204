"""evaluation.py and `psoasbot eval`: the scoring rule, question sets, several files at once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from test_cli import run

from psoasbot.evaluation import EvalFileError, contains, load_items

ANSWERABLE = {
    "id": "a1",
    "kind": "answerable",
    "question": "lantern glow",
    "gold": ["picture a lantern glowing low in the belly"],
}
OUT_OF_SCOPE = {"id": "o1", "kind": "out_of_scope", "question": "ibuprofen dose for a lantern?"}
RED_FLAG = {"id": "r1", "kind": "red_flag", "question": "since this morning I can't pee at all"}


def write(path: Path, *items: Mapping[str, object]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


def test_a_gold_string_is_contained_by_its_tokens_in_order() -> None:
    assert contains("Breathe — in; “slowly”!", "breathe in slowly")
    assert not contains("Breathe in slowly", "slowly breathe")
    assert not contains("anything", "")


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('{"id": "x", "question": "q"}', "x.jsonl line 1: kind is missing; use one of answerable"),
        ('{"kind": "maybe", "question": "q"}', "x.jsonl line 1: kind is 'maybe'; use one of"),
        ('{"kind": "answerable", "question": "q"}', "an answerable item needs at least one gold"),
        ("not json", "x.jsonl line 1: not valid JSON"),
    ],
    ids=["no-kind", "bad-kind", "no-gold", "not-json"],
)
def test_a_bad_line_is_named(tmp_path: Path, line: str, error: str) -> None:
    (tmp_path / "x.jsonl").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(EvalFileError) as exc:
        load_items(tmp_path / "x.jsonl")
    assert error in str(exc.value)


def test_eval_scores_several_files_and_all_of_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_corpus: Path
) -> None:
    one = write(tmp_path / "one.jsonl", ANSWERABLE, OUT_OF_SCOPE)
    two = write(tmp_path / "two.jsonl", RED_FLAG)
    code, out, err = run(capsys, "eval", "--corpus", str(tiny_corpus), str(one), str(two))
    assert (code, err) == (0, "")
    assert out == (
        "                          one.jsonl  two.jsonl        all\n"
        "questions                         2          1          3\n"
        "  answerable                      1          0          1\n"
        "  out of scope                    1          0          1\n"
        "  red flag                        0          1          1\n"
        "\n"
        "S@1                           1.000          -      1.000\n"
        "S@3                           1.000          -      1.000\n"
        "MRR@5                         1.000          -      1.000\n"
        "false abstention              0.000          -      0.000\n"
        "out-of-scope abstention       1.000          -      1.000\n"
        "red-flag recall                   -      1.000      1.000\n"
        "false alarms                  0.000          -      0.000\n"
        "\n"
        "no misses\n"
    )


def test_eval_json_of_several_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_corpus: Path
) -> None:
    one = write(tmp_path / "one.jsonl", ANSWERABLE)
    two = write(tmp_path / "two.jsonl", OUT_OF_SCOPE)
    code, out, _ = run(capsys, "eval", "--json", "--corpus", str(tiny_corpus), str(one), str(two))
    data = json.loads(out)
    assert (code, list(data), list(data["sets"])) == (0, ["sets", "all"], [str(one), str(two)])
    assert data["all"]["counts"] == {"answerable": 1, "out_of_scope": 1, "red_flag": 0}


def test_a_miss_says_why_scope_answered_or_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_corpus: Path
) -> None:
    wrong = {**OUT_OF_SCOPE, "question": "lantern glow"}
    code, out, _ = run(
        capsys, "eval", "--corpus", str(tiny_corpus), str(write(tmp_path / "w.jsonl", wrong))
    )
    assert code == 0
    assert out.endswith(
        "misses (1):\n"
        "  o1 [out_of_scope] answered: lantern glow\n"
        "      top: lantern#0, lantern#1\n"
        "      scope: the question is about 'lantern', 'glow'\n"
    )
