"""The README's generated tables match their sources: the config model and the schema."""

from __future__ import annotations

from dataops.engine import PROJECT_ROOT
from dataops.reference import BLOCKS, replace_blocks


def test_readme_reference_tables_are_current() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for block in BLOCKS:
        assert block.start in readme and block.end in readme, block.name
    assert replace_blocks(readme) == readme, "README tables are stale: run ./taskw docs"


def test_every_config_key_is_documented() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for line in BLOCKS[0].render().splitlines()[2:]:
        if line.startswith("| `"):
            description = line.rsplit("|", 2)[-2].strip()
            assert description, f"no description: {line.split('|')[1]}"
    assert "dataops:jobs.gitSync.targetRepository" in readme
