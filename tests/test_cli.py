"""``python -m dataops`` as a user and CI run it: real subprocesses, real exit codes."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from plan_helpers import CONNECTOR, CONTAINER, RG, ROLE, SHIPPED_STACKS, STORAGE, WORKSPACE

from dataops.cli import main
from dataops.engine import PROJECT_ROOT, render_stack
from dataops.tree import summary_line

SLICE_TYPES = {
    "pulumi:providers:azure-native",
    RG,
    STORAGE,
    CONTAINER,
    CONNECTOR,
    ROLE,
    WORKSPACE,
}


def dataops(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    """Run the CLI in process (fast); ``dataops_process`` runs it as a real process."""
    stdout, stderr = io.StringIO(), io.StringIO()
    root = [] if "--root" in args else ["--root", str(cwd)]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main([*root, *args])
        except SystemExit as exit_:  # argparse exits on bad arguments
            status = int(exit_.code or 0)
    return subprocess.CompletedProcess(args, status, stdout.getvalue(), stderr.getvalue())


def dataops_process(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dataops", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], starts: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(starts), result.stderr
    assert result.stdout == ""


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    """A copy of the project's stack files, to edit or add stacks without touching the repo."""
    for path in PROJECT_ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_plan_prints_the_tree_and_outputs() -> None:
    result = dataops_process("plan", "dev")
    assert result.returncode == 0, result.stderr
    for token in SLICE_TYPES:
        assert token in result.stdout
    assert "stack dev (dev): desired state, not a cloud preview" in result.stdout
    assert "via datanova-dev-azure-native" in result.stdout
    assert "Outputs:" in result.stdout
    assert "workspaceUrl" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == summary_line(render_stack("dev"))


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_plan_json_lists_the_slice_with_providers(stack: str) -> None:
    result = dataops("plan", stack, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["stack"] == stack
    assert set(document) == {"stack", "resources", "outputs"}
    resources = document["resources"]
    assert {r["type"] for r in resources} >= SLICE_TYPES
    for resource in resources:
        # "aliases" only where a resource declares some (azure-native's DiagnosticSetting
        # carries its former insights type tokens).
        assert set(resource) - {"aliases"} == {
            "urn", "type", "name", "parent", "inputs", "dependencies", "provider", "protect"
        }  # fmt: skip
        if resource["type"].startswith("azure-native:"):
            assert resource["provider"].endswith(f"::datanova-{stack}-azure-native")
    storage = next(r for r in resources if r["type"] == STORAGE)
    assert storage["inputs"]["isHnsEnabled"] is True  # inputs as Pulumi passes them: camelCase
    assert document["outputs"]["environment"] == stack


def test_plan_json_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "prod.json"
    result = dataops("plan", "prod", "--json", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert json.loads(target.read_text())["stack"] == "prod"


def test_a_stack_file_dropped_into_the_root_is_planned(project_root: Path) -> None:
    document = yaml.safe_load((project_root / "Pulumi.dev.yaml").read_text())
    document["config"]["dataops:azure"]["namePrefix"] = "acme"
    (project_root / "Pulumi.acme.yaml").write_text(yaml.safe_dump(document))
    result = dataops("--root", str(project_root), "plan", "acme", "--json")
    assert result.returncode == 0, result.stderr
    names = {r["name"] for r in json.loads(result.stdout)["resources"]}
    assert "acme-acme-azure-rg" in names
    validated = dataops("--root", str(project_root), "validate", "--all")
    assert "Pulumi.acme.yaml: ok (dev)" in validated.stdout


def test_bad_config_is_one_line_on_stderr_with_status_2(project_root: Path) -> None:
    path = project_root / "Pulumi.prod.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["dataops:identity"]["groups"][2]["members"][0] = "bob@"
    path.write_text(yaml.safe_dump(document))
    for command in (["plan", "prod"], ["plan", "prod", "--json"], ["validate", "prod"]):
        result = dataops("--root", str(project_root), *command)
        assert_one_line_error(
            result,
            "Pulumi.prod.yaml: dataops:identity.groups[2].members[0]: 'bob@' is not an email",
        )
    # And as a real process: exactly that line, no traceback.
    for command in (["plan", "prod"], ["validate", "prod"]):
        result = dataops_process("--root", str(project_root), *command)
        assert_one_line_error(
            result,
            "Pulumi.prod.yaml: dataops:identity.groups[2].members[0]: 'bob@' is not an email",
        )


def test_validate_all_passes_on_the_shipped_stacks() -> None:
    result = dataops("validate", "--all")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Pulumi.dev.yaml: ok (dev)",
        "Pulumi.prod.yaml: ok (prod)",
        "Pulumi.staging.yaml: ok (staging)",
        "shared singletons: one owner each across 3 stacks",
    ]


def test_validate_all_reports_every_bad_stack(project_root: Path) -> None:
    for stack in ("dev", "staging"):
        path = project_root / f"Pulumi.{stack}.yaml"
        path.write_text(path.read_text().replace("location: westeurope", "location: West Europe"))
    result = dataops("--root", str(project_root), "validate", "--all")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"Pulumi.{stack}.yaml: dataops:azure.location: 'West Europe' is not an Azure region "
        "name (for example 'westeurope')"
        for stack in ("dev", "staging")
    ]
    assert result.stdout == "Pulumi.prod.yaml: ok (prod)\n"


@pytest.mark.parametrize(
    ("args", "starts"),
    [
        (["plan"], "python -m dataops plan: the following arguments are required: stack"),
        (["plan", "qa"], "Pulumi.qa.yaml: no such stack file in "),
        (["deploy", "dev"], "python -m dataops: argument command: invalid choice: 'deploy'"),
        (["validate"], "validate: name one or more stacks, or --all"),
        (["diff", "dev"], "diff: give either a second stack or --against REF"),
        (["diff", "dev", "--against", "no-such-ref"], "no-such-ref: not a commit"),
    ],
)
def test_bad_arguments_are_one_line_with_status_2(args: list[str], starts: str) -> None:
    assert_one_line_error(dataops(*args), starts)


def test_diff_between_two_stacks_shows_changed_inputs() -> None:
    result = dataops("diff", "dev", "prod")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "diff dev -> prod (desired state, not a cloud preview)"
    assert "~ azure-native:storage:StorageAccount  datanova-<stack>-azure-storage" in lines
    assert '    sku.name: "Standard_LRS" -> "Standard_ZRS"' in lines
    assert "    (protect): false -> true" in lines
    assert dataops("diff", "dev", "dev", "--exit-code").returncode == 0
    assert dataops("diff", "dev", "prod", "--exit-code").returncode == 1


def test_diff_json_and_markdown() -> None:
    as_json = json.loads(dataops("diff", "dev", "staging", "--json").stdout)
    assert as_json["before"] == "dev" and as_json["after"] == "staging"
    changed = {(c["type"], c["kind"]) for c in as_json["resources"]}
    assert (WORKSPACE, "changed") in changed
    markdown = dataops("diff", "dev", "staging", "--markdown").stdout
    assert markdown.startswith("### Desired-state diff `dev` → `staging`")
    assert "```diff" in markdown


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A git repository holding a copy of the project (code and stack files)."""
    root = tmp_path / "repo"
    shutil.copytree(
        PROJECT_ROOT,
        root,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "tests", "bench", "__pycache__", "node_modules", ".*cache"
        ),
    )
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    return root


def test_diff_against_a_git_ref_shows_what_a_change_does(repository: Path) -> None:
    path = repository / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("sku: Standard_ZRS", "sku: Standard_GRS"))
    result = dataops("diff", "prod", "--against", "HEAD", "--exit-code", cwd=repository)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "diff prod@HEAD -> prod (desired state, not a cloud preview)",
        "~ azure-native:storage:StorageAccount  datanova-<stack>-azure-storage",
        '    sku.name: "Standard_ZRS" -> "Standard_GRS"',
        f"0 to add, 1 to change, 0 to remove, {len(render_stack('prod').resources) - 1} unchanged",
    ]
    unchanged = dataops("diff", "dev", "--against", "HEAD", "--exit-code", cwd=repository)
    assert unchanged.returncode == 0, unchanged.stderr
    assert unchanged.stdout.splitlines()[-1] == "no changes in desired state"


def test_diff_against_a_ref_without_the_stack_adds_everything(repository: Path) -> None:
    shutil.copy(repository / "Pulumi.dev.yaml", repository / "Pulumi.qa.yaml")
    qa = render_stack("qa", repository)
    result = dataops("diff", "qa", "--against", "HEAD", cwd=repository)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.splitlines()[-1]
        == f"{len(qa.resources)} to add, 0 to change, 0 to remove, 0 unchanged, "
        f"{len(qa.outputs)} outputs changed"
    )
