"""The design notes live in the repository: docs/ links resolve, the code paths they name
exist, and no file cites notes kept outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted((REPO / "docs").glob("*.md"))
OUTSIDE = ("design" + ".md", "/work/" + "shared", "seeds" + "/000_")


def test_the_index_links_every_note_and_nothing_missing() -> None:
    index = (REPO / "docs" / "README.md").read_text()
    linked = set(re.findall(r"\]\(([\w.]+\.md)\)", index))
    assert linked == {p.name for p in DOCS if p.name != "README.md"}


@pytest.mark.parametrize("note", DOCS, ids=lambda p: p.name)
def test_code_paths_named_in_a_note_exist(note: Path) -> None:
    for path in re.findall(r"`((?:nni_pibn|experiments|scripts|benchmarks)/[\w/.]*)`", note.read_text()):
        assert (REPO / path).exists(), f"{note.name} names {path}, which does not exist"


def test_nothing_cites_notes_outside_the_repository() -> None:
    files = [p for d in ("nni_pibn", "tests", "scripts", "experiments", "benchmarks", "docs")
             for p in (REPO / d).rglob("*") if p.is_file() and p.suffix in (".py", ".md", ".sh", ".yml", ".yaml")]
    files += [REPO / "README.md", REPO / "CHANGELOG.md"]
    cited = [f"{p.relative_to(REPO)}: {word}" for p in files for word in OUTSIDE if word in p.read_text()]
    assert not cited, cited
