"""Sandboxes: a developer's own stack per branch, in the dev workspace.

A sandbox stack file is generated into a copy of the project (never the checkout), then
rendered offline like any stack: its StackReference reads dev's offline outputs.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, SandboxStackConfig
from components.sandbox_names import (
    JOB_NAME_BYTES,
    SECRET_SCOPE,
    STACK_NAME,
    UC_IDENTIFIER,
    SandboxNameError,
    SandboxNames,
)
from dataops.access import ACCESS_TABLE, check_access, denied_line
from dataops.cli import main
from dataops.engine import PROJECT_ROOT, Plan, render_stack_file
from dataops.policy import check_plan
from dataops.sandbox import SandboxConfigError, generate
from dataops.stackfile import read_stack_file

BEN = "ben.okafor@datanova.eu"
CHLOE = "chloe.martin@datanova.eu"
ORDERS = "feature/orders-v2"
# 200 characters of slashes, accents, CJK and an emoji: a branch git accepts.
LONG_BRANCH = ("feature/ünïcödé-日本語/データ-🚀-" * 20)[:199] + "x"
NOW = datetime(2026, 12, 2, 16, 30, tzinfo=UTC)
# What `pulumi config set --secret` writes, as the shipped stack files show it.
CIPHERTEXT = "v1:Zm9vYmFyYmF6cXV4:placeholder-encrypted-by-pulumi-config-set-secret"

# Account-level resources a sandbox must never register: the access table's own list
# (only an account admin creates them), and the workspace objects only an admin creates.
ACCOUNT_LEVEL = {token for token, row in ACCESS_TABLE.items() if row.account_level} | {
    "databricks:index/catalog:Catalog",
    "databricks:index/clusterPolicy:ClusterPolicy",
    "databricks:index/groupMember:GroupMember",
    "databricks:index/accessControlRuleSet:AccessControlRuleSet",
}


def project_copy(root: Path) -> Path:
    """The project's config files in ``root``: where sandbox files may be written."""
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    return root


@cache
def _sandbox(user: str, branch: str) -> tuple[Plan, Plan]:
    """(sandbox plan, dev plan) of a freshly generated sandbox."""
    root = project_copy(Path(tempfile.mkdtemp(prefix="sandbox-test-")))
    generated = generate(root, user, branch, now=NOW)
    plan = render_stack_file(read_stack_file(root, generated.stack))
    assert plan.base is not None and plan.base.stack == "dev"
    return plan, plan.base


@pytest.fixture
def sandbox() -> Callable[[str, str], tuple[Plan, Plan]]:
    return _sandbox


def databricks_names(plan: Plan) -> Iterator[tuple[str, str]]:
    """(kind, name) of every named Databricks object of a plan."""
    for r in plan.resources:
        kind = r.type.rsplit(":", 1)[-1]
        for key in ("name", "path", "directoryPath", "schema", "scope"):
            value = r.inputs.get(key)
            if isinstance(value, str) and r.type.startswith("databricks:"):
                yield f"{kind}.{key}", value


# ------------------------------------------------------------------------ the plan


def test_a_sandbox_plans_offline_with_no_azure_or_account_resource(sandbox: Any) -> None:
    plan, _dev = sandbox(BEN, ORDERS)
    types = {r.type for r in plan.resources}
    assert not [t for t in types if t.startswith(("azure-native:", "pulumi:providers:azure"))]
    assert not types & ACCOUNT_LEVEL
    assert not [t for t in types if t.startswith(("github:", "azuredevops:"))]
    provider = plan.one("pulumi:providers:databricks")
    assert "accountId" not in provider.inputs
    assert provider.inputs["host"] == plan.outputs["workspaceUrl"]
    reference = plan.one("pulumi:pulumi:StackReference")
    assert reference.inputs == {"name": "organization/dataops/dev"} and reference.read
    # Schemas, grants, code, jobs: what the issue asks, and nothing more.
    assert len(plan.of_type("databricks:index/schema:Schema")) == 4
    assert len(plan.of_type("databricks:index/job:Job")) == 3


def test_every_databricks_name_carries_the_namespace(sandbox: Any) -> None:
    plan, _dev = sandbox(BEN, ORDERS)
    names = SandboxNames(BEN, ORDERS)
    underscored = names.namespace.replace("-", "_")
    found = list(databricks_names(plan))
    assert len(found) > 50
    for kind, value in found:
        assert names.namespace in value or underscored in value, (kind, value)
    for job in plan.of_type("databricks:index/job:Job"):
        assert job.inputs["name"].startswith(f"[sandbox ben.okafor {ORDERS}] ")


def test_the_outputs_follow_the_published_schema(sandbox: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    plan, dev = sandbox(BEN, ORDERS)
    schema = json.loads((PROJECT_ROOT / "schema" / "outputs.schema.json").read_text())
    jsonschema.validate(plan.outputs, schema)
    assert plan.outputs["workspaceUrl"] == dev.outputs["workspaceUrl"]
    assert plan.outputs["sandboxBranch"] == ORDERS
    assert plan.outputs["sandboxCreatedAt"] == "2026-12-02T16:30:00Z"
    # A platform output in a sandbox (or the reverse) breaks the schema.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**plan.outputs, "metastoreId": "x"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**dev.outputs, "sandboxOwner": BEN}, schema)
    assert set(schema["properties"]) == set(plan.outputs) | set(_prod_outputs())


@cache
def _prod_outputs() -> dict[str, Any]:
    return render_stack_file(read_stack_file(PROJECT_ROOT, "prod")).outputs


def test_jobs_are_personal_paused_small_and_tagged(sandbox: Any) -> None:
    plan, _dev = sandbox(BEN, ORDERS)
    for job in plan.of_type("databricks:index/job:Job"):
        i = job.inputs
        assert i["runAs"] == {"userName": BEN}
        assert i["emailNotifications"] == {"onFailures": [BEN]}
        assert "webhookNotifications" not in i
        assert i.get("schedule") is None or i["schedule"]["pauseStatus"] == "PAUSED"
        for cluster in i["jobClusters"]:
            spec = cluster["newCluster"]
            assert spec["numWorkers"] == 0 and spec["nodeTypeId"] == "Standard_DS3_v2"
            assert "policyId" not in spec
            assert spec["customTags"]["sandbox-owner"] == BEN
        assert i["tags"]["sandbox-branch"] == ORDERS
        assert i["tags"]["sandbox-created"] == "2026-12-02T16:30:00Z"
    medallion = plan.get("databricks:index/job:Job", f"{plan.stack}-jobs-medallion")
    bronze = medallion.inputs["tasks"][0]["notebookTask"]["baseParameters"]
    names = SandboxNames(BEN, ORDERS)
    assert bronze["schema_prefix"] == names.schema_prefix
    assert f"/sandboxes/{names.namespace}/" in bronze["landing_path"]
    assert f"/sandboxes/{names.namespace}/_checkpoints/" in bronze["checkpoint_path"]


def test_the_developer_owns_the_schemas_and_the_reviewers_read_them(sandbox: Any) -> None:
    plan, _dev = sandbox(BEN, ORDERS)
    for grants in plan.of_type("databricks:index/grants:Grants"):
        assert grants.inputs["grants"] == [
            {"principal": BEN, "privileges": ["ALL_PRIVILEGES"]},
            {"principal": "dev-data-engineers", "privileges": ["USE_SCHEMA", "SELECT"]},
        ]
    for schema in plan.of_type("databricks:index/schema:Schema"):
        assert schema.inputs["catalogName"] == "dev" and schema.inputs["forceDestroy"]
        assert "owner" not in schema.inputs  # the developer, who creates it
    # `sandbox down` removes the code folder with what runs wrote into it (reports).
    folders = {d.inputs["path"]: d for d in plan.of_type("databricks:index/directory:Directory")}
    code = SandboxNames(BEN, ORDERS).code_folder
    assert folders[code].inputs["deleteRecursive"] is True
    assert all("deleteRecursive" not in d.inputs for path, d in folders.items() if path != code)


def test_the_shipped_policy_and_the_developer_access_check_pass(sandbox: Any) -> None:
    plan, _dev = sandbox(BEN, ORDERS)
    report = check_plan(plan)
    assert report.violations == (), report.lines()
    assert report.tier == "sandbox" and report.rules_enabled == 7
    access = check_access(plan, "developer")
    assert denied_line(access) is None
    assert {d.outcome for d in access.decisions} == {"ok"}


def test_the_developer_needs_create_schema_on_the_dev_catalog(sandbox: Any, tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    dev = yaml.safe_load((root / "Pulumi.dev.yaml").read_text())
    catalog = dev["config"]["dataops:unityCatalog"]["catalogs"][0]
    engineers = next(g for g in catalog["grants"] if g["group"] == "data-engineers")
    engineers["privileges"].remove("CREATE_SCHEMA")
    (root / "Pulumi.dev.yaml").write_text(yaml.safe_dump(dev, allow_unicode=True))
    stack = generate(root, BEN, ORDERS, now=NOW).stack
    plan = render_stack_file(read_stack_file(root, stack))
    line = denied_line(check_access(plan, "developer"))
    assert line is not None and "cannot create Schema" in line
    assert "CREATE_SCHEMA on uc:CATALOG:dev" in line


def test_platform_callers_are_refused_on_a_sandbox(sandbox: Any) -> None:
    from dataops.access import AccessError

    plan, _dev = sandbox(BEN, ORDERS)
    with pytest.raises(AccessError, match="does not deploy this stack"):
        check_access(plan, "ci")


# ---------------------------------------------------------------- names never collide


def test_two_sandboxes_share_no_name(sandbox: Any) -> None:
    ben_orders, _ = sandbox(BEN, ORDERS)
    ben_other, _ = sandbox(BEN, "feature/orders-v3")
    chloe_orders, _ = sandbox(CHLOE, ORDERS)
    for first, second in ((ben_orders, ben_other), (ben_orders, chloe_orders)):
        shared = {v for _k, v in databricks_names(first)} & {
            v for _k, v in databricks_names(second)
        }
        assert shared == set()
        assert not {r.urn for r in first.resources} & {r.urn for r in second.resources}


def test_branches_that_fold_alike_keep_apart() -> None:
    first, second = SandboxNames(BEN, "feature/a_b"), SandboxNames(BEN, "feature/a-b")
    assert first.namespace != second.namespace
    assert first.namespace.rsplit("-", 1)[0] == second.namespace.rsplit("-", 1)[0]
    assert SandboxNames.of("Ben.Okafor@Datanova.eu", ORDERS) == SandboxNames.of(BEN, ORDERS)


@pytest.mark.parametrize(
    "branch",
    [LONG_BRANCH, "日本語", "a", "x/" * 99 + "y", "Feature/UPPER.case_v1", "fix/a\u2028b\u0085c"],
)
def test_odd_branches_give_valid_names(branch: str) -> None:
    names = SandboxNames.of(BEN, branch)
    assert names.problems() == []
    assert STACK_NAME.match(names.stack) and len(names.stack) <= 100
    assert SECRET_SCOPE.match(names.secret_scope)
    for zone in ("bronze", "silver", "gold", "ops"):
        assert UC_IDENTIFIER.match(names.schema(zone))
    assert len(names.job("integration-tests").encode()) <= JOB_NAME_BYTES
    assert all(len(value) <= 256 for value in names.tags("2026-12-02T16:30:00Z").values())


def test_a_200_character_unicode_branch_plans_cleanly(sandbox: Any) -> None:
    assert len(LONG_BRANCH) == 200
    plan, _dev = sandbox(BEN, LONG_BRANCH)
    assert check_plan(plan).violations == ()
    assert plan.outputs["sandboxBranch"] == LONG_BRANCH


# -------------------------------------------------------------------- the generator


def test_config_writes_a_validated_file_and_prints_the_stack_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_copy(tmp_path)
    code = main(["--root", str(root), "sandbox", "config", "--user", BEN, "--branch", ORDERS])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    stack = SandboxNames(BEN, ORDERS).stack
    assert out[-1] == stack
    text = (root / f"Pulumi.{stack}.yaml").read_text()
    assert text.startswith("# A sandbox: ben.okafor@datanova.eu's")
    document = yaml.safe_load(text)["config"]
    settings = document["dataops:sandbox"]
    assert document["dataops:environment"] == "sandbox"
    # Borrowed from dev's config: its jobs' catalog, zones, backup repository, runtime.
    assert settings["catalog"] == "dev" and settings["company"] == "datanova"
    assert settings["backupRepository"] == "https://github.com/datanova/notebook-backup-dev.git"
    assert settings["reviewerGroups"] == ["data-engineers"]
    assert main(["--root", str(root), "validate", stack]) == 0


@pytest.mark.parametrize("branch", [LONG_BRANCH, "fix/line\u2028break\u2029\u0085\ufeff-x"])
def test_the_file_holds_the_exact_branch(tmp_path: Path, branch: str) -> None:
    root = project_copy(tmp_path)
    generated = generate(root, BEN, branch, now=NOW)
    text = generated.path.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["config"]["dataops:sandbox"]["branch"] == branch
    # The comment naming the branch stays one line: every line is a comment or YAML.
    assert all(line.startswith(("#", "config:", " ")) for line in text.splitlines())


def test_regenerating_keeps_the_creation_time(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    first = generate(root, BEN, ORDERS, now=NOW)
    later = generate(root, BEN, ORDERS, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert first.created and not later.created
    settings = yaml.safe_load(later.path.read_text())["config"]["dataops:sandbox"]
    assert settings["createdAt"] == "2026-12-02T16:30:00Z"


@pytest.mark.parametrize(
    ("user", "branch", "message"),
    [
        ("", ORDERS, "no user: set your email with `git config user.email"),
        (BEN, "", "no branch: a detached HEAD has none"),
        (BEN, "HEAD", "no branch: a detached HEAD has none"),
        (BEN, "refs/heads/feature/x", "is a full ref"),
        (BEN, "feature/a b", "is not a git branch name: it contains ' '"),
        (BEN, "feature/x..y", "is not a git branch name"),
        (BEN, "feature/x.lock", "is not a git branch name"),
        ("not-an-email", ORDERS, "is not an email address"),
        ("nobody@datanova.eu", ORDERS, "is not a user of the dev stack"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], user: str, branch: str, message: str
) -> None:
    root = project_copy(tmp_path)
    before = sorted(p.name for p in root.iterdir())
    code = main(["--root", str(root), "sandbox", "config", "--user", user, "--branch", branch])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err, captured.err
    assert captured.err.startswith("sandbox config: ")
    assert sorted(p.name for p in root.iterdir()) == before


def test_a_user_without_workspace_access_is_refused(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    dev = yaml.safe_load((root / "Pulumi.dev.yaml").read_text())
    for group in dev["config"]["dataops:identity"]["groups"]:
        if BEN in group.get("members", []):
            group["members"].remove(BEN)
    (root / "Pulumi.dev.yaml").write_text(yaml.safe_dump(dev, allow_unicode=True))
    with pytest.raises(SandboxConfigError, match="in no group of the dev stack"):
        generate(root, BEN, ORDERS)


@pytest.mark.parametrize("base", ["staging", "prod"])
def test_a_sandbox_never_works_in_staging_or_prod(tmp_path: Path, base: str) -> None:
    root = project_copy(tmp_path)
    with pytest.raises(SandboxConfigError, match=f"base stack {base} is {base}"):
        generate(root, BEN, ORDERS, base_stack=base)


# ---------------------------------------------------- a hand-edited file is refused


def _edited(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> str:
    """The validation error of the generated file after ``edit`` (on its config)."""
    root = project_copy(tmp_path)
    generated = generate(root, BEN, ORDERS, now=NOW)
    document = yaml.safe_load(generated.path.read_text())
    edit(document["config"])
    generated.path.write_text(yaml.safe_dump(document, allow_unicode=True))
    from dataops.engine import validate_stack

    with pytest.raises(ConfigError) as error:
        validate_stack(read_stack_file(root, generated.stack))
    return str(error.value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["dataops:sandbox"].update(user=CHLOE),
            "make the stack sandbox-chloe-martin-feature-orders-v2-",
        ),
        (lambda c: c["dataops:sandbox"].update(baseStack="prod"), "never in prod's"),
        (
            lambda c: c["dataops:sandbox"]["cluster"].update(nodeType="Standard_E64s_v5"),
            "bigger than a sandbox gets",
        ),
        (lambda c: c["dataops:sandbox"].update(jobTimeoutMinutes=600), "more than a sandbox run"),
        (lambda c: c["dataops:sandbox"].update(createdAt="yesterday"), "is not an ISO 8601 time"),
        (lambda c: c["dataops:sandbox"].update(createdAt="2026-12-02T16:30:00"), "no time zone"),
        (lambda c: c.update({"dataops:azure": {"location": "westeurope"}}), "unknown key 'azure'"),
        (
            lambda c: c.update({"dataops:teamsWebhookUrl": {"secure": CIPHERTEXT}}),
            "is not a sandbox secret",
        ),
    ],
)
def test_a_hand_edited_sandbox_file_is_refused(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    error = _edited(tmp_path, edit)
    assert error.startswith("Pulumi.sandbox-ben-okafor-feature-orders-v2-"), error
    assert message in error, error


def test_a_base_stack_without_the_catalog_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project_copy(tmp_path)
    generated = generate(root, BEN, ORDERS, now=NOW)
    document = yaml.safe_load(generated.path.read_text())
    document["config"]["dataops:sandbox"]["catalog"] = "analytics"
    generated.path.write_text(yaml.safe_dump(document, allow_unicode=True))
    assert main(["--root", str(root), "plan", generated.stack]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "dataops:sandbox.baseStack: the base stack dev has no catalog 'analytics'" in err


def test_the_sandbox_config_model_is_what_the_loader_returns(tmp_path: Path) -> None:
    root = project_copy(tmp_path)
    generated = generate(root, BEN, LONG_BRANCH, now=NOW)
    from dataops.engine import validate_stack

    config = validate_stack(read_stack_file(root, generated.stack))
    assert isinstance(config, SandboxStackConfig)
    assert config.names == SandboxNames(BEN, LONG_BRANCH)
    with pytest.raises(SandboxNameError):
        SandboxNames.of(BEN, "bad branch")


def test_regenerating_keeps_what_pulumi_wrote_into_the_file(tmp_path: Path) -> None:
    # `pulumi stack init` writes the secrets provider at the top, `pulumi config set
    # --secret gitSyncToken` the encrypted token under config: regenerating (every
    # `sandbox:up`) must keep both, or the stack's secrets become unreadable.
    root = project_copy(tmp_path)
    first = generate(root, BEN, ORDERS, now=NOW)
    document = yaml.safe_load(first.path.read_text())
    document["encryptionsalt"] = "v1:c2FsdA==:v1:bm9uY2U=:c2VjcmV0"
    document["config"]["dataops:gitSyncToken"] = {"secure": CIPHERTEXT}
    first.path.write_text(yaml.safe_dump(document, allow_unicode=True))
    generate(root, BEN, ORDERS, now=NOW)
    again = yaml.safe_load(first.path.read_text())
    assert again["encryptionsalt"] == "v1:c2FsdA==:v1:bm9uY2U=:c2VjcmV0"
    assert again["config"]["dataops:gitSyncToken"] == {"secure": CIPHERTEXT}
    assert again["config"]["dataops:sandbox"] == document["config"]["dataops:sandbox"]
    # With the token, the backup job reads it from the sandbox's own secret scope.
    plan = render_stack_file(read_stack_file(root, first.stack))
    scope = plan.one("databricks:index/secretScope:SecretScope")
    assert scope.inputs["name"] == first.stack
    assert check_plan(plan).violations == ()


def test_the_bundle_target_of_a_rendered_sandbox(sandbox: Any) -> None:
    from dataops.bundles import bundle_target

    plan, _dev = sandbox(BEN, ORDERS)
    names = SandboxNames(BEN, ORDERS)
    target = bundle_target(plan.stack, plan.outputs)
    assert target["mode"] == "development"
    assert target["run_as"] == {"user_name": BEN}
    assert target["workspace"]["host"] == plan.outputs["workspaceUrl"]
    assert target["workspace"]["root_path"].endswith(f"/{names.namespace}")
    assert target["variables"]["schema_prefix"] == names.schema_prefix
    assert target["variables"]["gold_schema"] == names.schema("gold")
