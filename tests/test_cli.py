"""``python -m dataops`` as a user and CI run it: real subprocesses, real exit codes."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_helpers import CONNECTOR, CONTAINER, RG, ROLE, SHIPPED_STACKS, STORAGE, WORKSPACE

from components.config import ConfigError
from dataops.cli import main
from dataops.engine import PROJECT_ROOT, render_stack
from dataops.safe_yaml import YamlRefusedError, check_file, load_mapping
from dataops.stackfile import StackFileError, parse_stack_file
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
        # Options the engine acts on appear only where a resource sets them ("aliases":
        # azure-native's DiagnosticSetting carries its former insights type tokens).
        optional = {"aliases", "deleteBeforeReplace", "ignoreChanges"}
        assert set(resource) - optional == {
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
        "shared singletons: one owner each across 3 platform stacks",
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


# --- input a user can get wrong: one line, exit 2, never a traceback (issue #13) ---------


def _bad_stack(project_root: Path, name: str, data: bytes) -> None:
    (project_root / f"Pulumi.{name}.yaml").write_bytes(data)


def _dev_with(project_root: Path, old: bytes, new: bytes) -> bytes:
    text = (project_root / "Pulumi.dev.yaml").read_bytes()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("edit", "starts"),
    [
        # A plaintext value above the secure one: yaml.safe_load let the last one win.
        (
            lambda t: t.replace(b"config:\n", b"config:\n  dataops:azure: {}\n", 1),
            "Pulumi.bad.yaml: line ",
        ),
        (lambda t: t + b"  dataops:note: caf\xe9\n", "Pulumi.bad.yaml: line "),
        (lambda t: t + b"  dataops:deep: " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "Pulumi.bad"),
    ],
    ids=["duplicate-key", "latin-1", "deep"],
)
def test_stack_files_yaml_cannot_hurt(
    project_root: Path, edit: Callable[[bytes], bytes], starts: str
) -> None:
    _bad_stack(project_root, "bad", edit((project_root / "Pulumi.dev.yaml").read_bytes()))
    for command in (["validate", "bad"], ["plan", "bad", "--json"]):
        assert_one_line_error(dataops("--root", str(project_root), *command), starts)


def test_duplicate_key_names_the_key_and_both_lines(project_root: Path) -> None:
    _bad_stack(
        project_root,
        "bad",
        b"config:\n  dataops:gitToken: ghp_plaintext\n  dataops:gitToken:\n    secure: v1:abc\n",
    )
    assert_one_line_error(
        dataops("--root", str(project_root), "validate", "bad"),
        "Pulumi.bad.yaml: line 3: config.dataops:gitToken: duplicate key (first on line 2)",
    )


def test_alias_bomb_is_refused_in_bounded_time(project_root: Path) -> None:
    lines = ["config:", "  dataops:l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"  dataops:l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]")
    _bad_stack(project_root, "bomb", ("\n".join(lines) + "\n").encode())
    t0 = time.monotonic()
    result = dataops("--root", str(project_root), "validate", "bomb")
    assert time.monotonic() - t0 < 5
    assert_one_line_error(result, "Pulumi.bomb.yaml: line ")
    assert "through aliases" in result.stderr


def test_unreadable_stack_or_project_file_is_one_line(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name in ("Pulumi.staging.yaml", "Pulumi.yaml") and self.parent == project_root:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = dataops("--root", str(project_root), "validate", "staging")
    assert_one_line_error(result, "Pulumi.staging.yaml: cannot read ")
    assert "Permission denied" in result.stderr


def test_validate_all_reports_every_stack_past_an_unreadable_one(project_root: Path) -> None:
    _bad_stack(project_root, "a-latin1", b"config:\n  dataops:x: caf\xe9\n")
    _bad_stack(project_root, "b-dup", b"config:\n  dataops:x: 1\n  dataops:x: 2\n")
    result = dataops("--root", str(project_root), "validate", "--all")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("Pulumi.a-latin1.yaml: line 2: byte ")
    assert errors[1].startswith("Pulumi.b-dup.yaml: line 3: config.dataops:x: duplicate key")
    assert result.stdout.splitlines() == [
        "Pulumi.dev.yaml: ok (dev)",
        "Pulumi.prod.yaml: ok (prod)",
        "Pulumi.staging.yaml: ok (staging)",
    ]


@pytest.mark.parametrize(
    ("target", "starts"),
    [
        ("missing/plan.json", "--json {tmp}/missing/plan.json: the folder {tmp}/missing does not"),
        (".", "--json {tmp}/.: is a folder"),
        ("/dev/full", "--json /dev/full: cannot write it: No space left on device"),
    ],
    ids=["missing-folder", "folder", "full-disk"],
)
def test_plan_json_into_a_place_that_cannot_take_it(
    tmp_path: Path, target: str, starts: str
) -> None:
    path = target if target.startswith("/") else f"{tmp_path}/{target}"
    result = dataops("plan", "dev", "--no-policy", "--json", path)
    assert_one_line_error(result, starts.format(tmp=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing left behind


def test_plan_json_keeps_the_old_file_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan.json"
    target.write_text("previous plan\n")
    real_replace = Path.replace

    def full(self: Path, other: Any) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", full)
    result = dataops("plan", "dev", "--no-policy", "--json", str(target))
    monkeypatch.setattr(Path, "replace", real_replace)
    assert_one_line_error(result, f"--json {target}: cannot write it: No space left on device")
    assert target.read_text() == "previous plan\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_reference_write_into_a_missing_file_or_one_without_markers(tmp_path: Path) -> None:
    missing = tmp_path / "NOPE.md"
    assert_one_line_error(dataops("reference", "--write", str(missing)), f"{missing}: no such file")
    assert not missing.exists()
    plain = tmp_path / "README.md"
    plain.write_text("# A readme without the generated blocks\n")
    result = dataops("reference", "--write", str(plain))
    assert_one_line_error(result, f"{plain}: the markers ")
    assert "add both marker lines" in result.stderr
    assert plain.read_text() == "# A readme without the generated blocks\n"


def test_the_pulumi_entry_point_checks_the_stack_file_first(tmp_path: Path) -> None:
    """``pulumi up`` runs __main__.py, which refuses the file before defining the stack."""
    bad = tmp_path / "Pulumi.x.yaml"
    bad.write_bytes(b"config:\n  dataops:a: 1\n  dataops:a: 2\n")
    with pytest.raises(YamlRefusedError, match=r"^Pulumi.x.yaml: line 3: config.dataops:a: dup"):
        check_file(bad)
    check_file(tmp_path / "Pulumi.none.yaml")  # config from elsewhere: nothing to check
    check_file(PROJECT_ROOT / "Pulumi.prod.yaml")
    entry = (PROJECT_ROOT / "__main__.py").read_text()
    assert entry.index("check_file(") < entry.index("define_stack()\n")


def test_validate_all_in_a_folder_without_stacks(tmp_path: Path) -> None:
    result = dataops("--root", str(tmp_path), "validate", "--all")
    assert_one_line_error(result, f"validate --all: no Pulumi.<stack>.yaml in {tmp_path}")


def test_diff_against_outside_a_git_repository(project_root: Path) -> None:
    (project_root / "Pulumi.yaml").write_bytes((PROJECT_ROOT / "Pulumi.yaml").read_bytes())
    result = dataops("diff", "dev", "--against", "main", cwd=project_root)
    assert_one_line_error(result, f"main: {project_root} is not inside a git repository")
    assert "diff STACK OTHER" in result.stderr


_YAML_TOKENS = [
    "config:", "\n", "  ", "    ", "- ", ": ", "dataops:x", "dataops:x", "key", "&a ", "*a",
    "&b ", "*b", "[", "]", "{", "}", ", ", "'", '"', "secure: v1:x", "<<: ", "!!binary ",
    "!!set ", "!!python/object ", "? ", "2024-01-01", "1e9", ".nan", "~", "#", "\t", "\xe9",
    "\u2028", "%YAML 1.1\n", "---\n", "...\n", "|\n", ">-\n",
]  # fmt: skip


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.lists(st.sampled_from(_YAML_TOKENS), max_size=60).map(lambda t: "".join(t).encode()),
        st.lists(st.sampled_from(_YAML_TOKENS), max_size=60).map(
            lambda t: "".join(t).encode("utf-16")
        ),
    )
)
def test_any_bytes_load_or_are_refused_in_one_line(data: bytes) -> None:
    """Whatever bytes a stack file holds: a mapping of JSON values, or one refusal line."""
    try:
        document = load_mapping("Pulumi.any.yaml", data)
    except YamlRefusedError as refused:
        message = str(refused)
        assert message.startswith("Pulumi.any.yaml: ")
        assert "\n" not in message and "\r" not in message
        return
    assert isinstance(document, dict)
    json.dumps(document)  # what the engine does with it next: must not raise
    try:
        parse_stack_file("any", Path("Pulumi.any.yaml"), data)
    except (StackFileError, ConfigError) as refused:
        assert "\n" not in str(refused)
