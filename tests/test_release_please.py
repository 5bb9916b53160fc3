"""release-please's own code, offline, on this repository's config.

The version and tag a release gets are decided by release-please, not by this repository.
tests/release_please_offline.cjs runs its strategy (node_modules/release-please, pinned in
package-lock.json, installed by `npm ci`, which `./taskw lint` runs first) on
release-please-config.json and the manifest; these tests check what it would do: the tag
the README promises (vX.Y.Z), the branch release-command.sh accepts, and the SemVer bumps
of Conventional Commits.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "release_please_offline.cjs"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "release-please").is_dir(),
    reason="release-please is not installed: npm ci (./taskw lint installs it)",
)


def _release_please(messages: list[str], root: Path = ROOT) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(SCRIPT), str(root), json.dumps(messages)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_release_is_tagged_v_x_y_z_on_the_release_branch() -> None:
    result = _release_please(["feat(jobs): nightly medallion run", "fix: retry 429s"])
    assert result == {
        "pullRequest": {
            "title": "chore(main): release 0.2.0",
            "branch": "release-please--branches--main--components--dataops",
            "version": "0.2.0",
        },
        "release": {"tag": "v0.2.0", "name": "v0.2.0"},
    }
    # release-command.sh accepts exactly release-please's branches.
    script = (ROOT / ".github" / "scripts" / "release-command.sh").read_text(encoding="utf-8")
    assert "$head != release-please--*" in script


def test_without_include_component_in_tag_the_tag_was_dataops_v(tmp_path: Path) -> None:
    # The defect this config fixes, reproduced with release-please's own code.
    config = json.loads((ROOT / "release-please-config.json").read_text(encoding="utf-8"))
    del config["include-component-in-tag"]
    (tmp_path / "release-please-config.json").write_text(json.dumps(config))
    for name in (".release-please-manifest.json", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    result = _release_please(["feat: x"], root=tmp_path)
    assert result["release"]["tag"] == "dataops-v0.2.0"


@pytest.mark.parametrize(
    ("messages", "version"),
    [
        (["fix: retry 429s"], "0.1.1"),
        (["feat: nightly run"], "0.2.0"),
        # Breaking while 0.x: a minor bump (bump-minor-pre-major).
        (["feat!: drop the v1 outputs"], "0.2.0"),
        (["fix: y", "docs: z"], "0.1.1"),
    ],
)
def test_conventional_commits_make_the_next_version(messages: list[str], version: str) -> None:
    assert _release_please(messages)["pullRequest"]["version"] == version


def test_commits_that_are_not_conventional_make_no_release() -> None:
    # What a squash commit titled by an unchecked commit message did: nothing released.
    assert _release_please(["Update stuff", "wip"]) == {"pullRequest": None}
