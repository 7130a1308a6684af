"""Every SYLLABUS item marked (E) is practised by a graded exercise.

``tests/syllabus_exercises.json`` keeps a copy of the (E) items of the shared syllabus, chapter by chapter,
each with the grade ids of the graded test cells that practise it. The test checks that those grade ids
exist in the solution notebooks and, when the shared ``SYLLABUS.md`` is found beside the checkout
(``../shared/SYLLABUS.md``, or the file named by ``NNBOOK_SYLLABUS``), that the copied items match it.
"""
import json
import os
import re
from pathlib import Path

import pytest

from notebooks import REPO, graded_test_ids, read, solution_path

MAPPING = json.loads((REPO / "tests" / "syllabus_exercises.json").read_text(encoding="utf-8"))["chapters"]
CHAPTERS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())


def syllabus_path() -> Path:
    return Path(os.environ.get("NNBOOK_SYLLABUS") or REPO.parent / "shared" / "SYLLABUS.md")


def exercise_items(text: str) -> dict[str, list[str]]:
    """{chapter number "01": [item text, ...]} for the lines marked (E) under each "## NN Title" heading."""
    items, current = {}, None
    for line in text.splitlines():
        heading = re.match(r"## (\d\d) ", line)
        if heading:
            current = heading.group(1)
            items[current] = []
        elif line.startswith("## "):
            current = None
        elif current and line.startswith("- ") and "(E)" in line:
            items[current].append(line[2:].strip())
    return items


def test_every_chapter_is_mapped():
    assert sorted(MAPPING) == CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_item_has_existing_graded_cells(chapter):
    graded = set(graded_test_ids(read(solution_path(chapter))))
    assert MAPPING[chapter], f"{chapter}: no (E) items copied"
    for entry in MAPPING[chapter]:
        assert entry["grade_ids"], f"{chapter}: no graded exercise practises {entry['item']!r}"
        missing = sorted(set(entry["grade_ids"]) - graded)
        assert not missing, f"{chapter}: {entry['item']!r} names grade ids that are not graded cells: {missing}"


def test_copied_items_match_the_shared_syllabus():
    path = syllabus_path()
    if not path.exists():
        pytest.skip(f"{path} not found beside the checkout")
    items = exercise_items(path.read_text(encoding="utf-8"))
    copied = {chapter[:2]: [e["item"] for e in entries] for chapter, entries in MAPPING.items()}
    assert copied == items, "tests/syllabus_exercises.json is out of date with SYLLABUS.md's (E) items"


def test_parser_finds_items_only_under_chapter_headings():
    text = "# S\n- x (E)\n## 01 The neuron\n- a (E)\n- b\n## Errata\n- c (E)\n"
    assert exercise_items(text) == {"01": ["a (E)"]}
