"""The bad-input table stays true: every row names tests, and they exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADING = "### Bad input: what happens"


def test_every_bad_input_row_names_existing_tests():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    (page,) = [p for p in pages if p.is_file() and HEADING in p.read_text()]
    table = page.read_text().split(HEADING, 1)[1].split("\n\n", 2)[1]
    rows = [r for r in table.splitlines() if r.startswith("|") and not r.startswith("|---")][1:]
    assert len(rows) >= 15
    for row in rows:
        refs = re.findall(r"`(test_\w+)::(test_\w+)\*?`", row)
        assert refs, f"row without a test: {row}"
        for module, name in refs:
            assert f"def {name}" in (ROOT / "tests" / f"{module}.py").read_text(), (module, name)
