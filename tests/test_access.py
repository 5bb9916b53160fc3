"""The offline access check, and the deploy-from-zero and least-privilege fixes it proves.

Each shipped stack passes for both callers; each defect the check exists for, put back
into a rendered plan, is refused in one line naming the resource and what it lacks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from plan_helpers import (
    CATALOG,
    GIT_CREDENTIAL,
    GRANT,
    JOB,
    MEMBER,
    METASTORE,
    PRINCIPAL_ROLE,
    ROLE,
    RULE_SET,
    SHIPPED_STACKS,
    STORAGE_CREDENTIAL,
    VAULT,
    WORKSPACE,
    StackDocument,
    single,
)

from components.config import ConfigError, StackConfig, check_shared_singletons
from dataops import mocks
from dataops.access import (
    ACCESS_TABLE,
    AccessError,
    check_access,
    denied_line,
    granted,
    render_report,
)
from dataops.cli import main
from dataops.engine import Plan, PlannedResource

PlanOf = Callable[[str], Plan]
Render = Callable[[str, StackDocument], Plan]
DocumentOf = Callable[[str], StackDocument]


def _replace(plan: Plan, old: PlannedResource, **changes: object) -> Plan:
    """The plan with one resource changed, as a defect would have made it."""
    resources = [dataclasses.replace(r, **changes) if r is old else r for r in plan.resources]  # type: ignore[arg-type]
    return dataclasses.replace(plan, resources=resources)


def _without(plan: Plan, old: PlannedResource) -> Plan:
    return dataclasses.replace(plan, resources=[r for r in plan.resources if r is not old])


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
@pytest.mark.parametrize("caller", ["bootstrap", "ci"])
def test_every_shipped_stack_is_deployable_by_both_callers(
    plan: PlanOf, stack: str, caller: str
) -> None:
    report = check_access(plan(stack), caller)  # type: ignore[arg-type]
    assert denied_line(report) is None, denied_line(report)
    created = [d for d in report.decisions if d.outcome == "ok"]
    assert created and all(d.privileges and d.came_from for d in created)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_cli_checks_both_callers_and_exits_0(
    stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["access", stack]) == 0
    out = capsys.readouterr().out
    assert f"access {stack} --caller bootstrap: " in out
    assert f"access {stack} --caller ci: " in out
    assert ", 0 refused" in out


def test_every_resource_type_of_every_stack_has_a_sourced_row(plan: PlanOf) -> None:
    for stack in SHIPPED_STACKS:
        for resource in plan(stack).resources:
            if resource.custom and not resource.is_provider:
                assert resource.type in ACCESS_TABLE, resource.type
    assert all(row.source.strip() for row in ACCESS_TABLE.values())


def test_a_type_without_a_row_is_an_error_not_a_pass(plan: PlanOf) -> None:
    rendered = plan("dev")
    job = single(rendered, JOB, "-jobs-git-sync")
    with pytest.raises(AccessError, match=r"no access-table row for test:index:Thing"):
        check_access(_replace(rendered, job, type="test:index:Thing"), "ci")


# --------------------------------------------------------- 1. run-as on the first deploy


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_bootstrap_caller_may_name_the_job_runner_as_run_as(plan: PlanOf, stack: str) -> None:
    """Account admins are the job runner's Manager, not its User: the rule set gives User
    to the stack's admin group too, or the person's first `pulumi up` cannot create a job."""
    rendered = plan(stack)
    rules = single(rendered, RULE_SET, "-identity-job-runner-users")
    (rule,) = rules.inputs["grantRules"]
    assert rule["role"] == "roles/servicePrincipal.user"
    assert f"groups/{stack}-platform-admins" in rule["principals"]
    # The defect: the deployer alone.
    deployer_only = [{**rule, "principals": rule["principals"][:1]}]
    broken = _replace(rendered, rules, inputs={**rules.inputs, "grantRules": deployer_only})
    line = denied_line(check_access(broken, "bootstrap"))
    assert line is not None and line.startswith(
        f"access: {stack}: the bootstrap caller cannot create Job datanova-{stack}-jobs-"
    )
    assert "needs workspace user on workspace, service principal user on ServicePrincipal" in line


def test_a_job_that_does_not_wait_for_the_run_as_role_is_refused(plan: PlanOf) -> None:
    rendered = plan("prod")
    rules = single(rendered, RULE_SET, "-identity-job-runner-users")
    job = single(rendered, JOB, "-jobs-medallion")
    assert rules.urn in job.dependencies
    broken = _replace(
        rendered, job, dependencies=tuple(d for d in job.dependencies if d != rules.urn)
    )
    # Identity's other children still order it after the rule set: cut the whole layer.
    identity = {r.urn for r in rendered.resources if "::dataops:identity:Identity$" in r.urn}
    broken = _replace(
        broken,
        next(r for r in broken.resources if r.urn == job.urn),
        dependencies=tuple(d for d in job.dependencies if d not in identity),
    )
    line = denied_line(check_access(broken, "bootstrap"))
    assert line is not None and "cannot create Job datanova-prod-jobs-medallion" in line


# ------------------------------------------------ 2. no code others edit runs as the deployer


def test_jobs_as_the_deployer_from_shared_are_refused(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:jobs"]["runAs"] = "deployer"
    with pytest.raises(ConfigError) as caught:
        render("dev", document)
    assert str(caught.value).startswith(
        "Pulumi.dev.yaml: dataops:jobs.runAs: 'deployer' runs the jobs' code from "
        "'/Shared/dataops/<stack>', under /Shared, which every workspace user may edit"
    )
    # Outside /Shared it is the stack's choice, and the admins may then use the deployer.
    document["config"]["dataops:jobs"]["codeFolder"] = "/dataops/dev"
    rendered = render("dev", document)
    rules = single(rendered, RULE_SET, "-identity-deployer-rules")
    assert {
        "role": "roles/servicePrincipal.user",
        "principals": ["groups/dev-platform-admins"],
    } in (rules.inputs["grantRules"])
    assert denied_line(check_access(rendered, "bootstrap")) is None


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_jobs_run_as_the_job_runner(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    for job in rendered.of_type(JOB):
        assert (
            job.inputs["runAs"]["servicePrincipalName"]
            == rendered.outputs["jobRunnerApplicationId"]
        )


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_job_runner_holds_workspace_use_and_its_tasks_grants_only(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    catalog = rendered.config.jobs_catalog
    held = granted(rendered)[f"ServicePrincipal datanova-{stack}-identity-job-runner"]
    for privilege in held:
        assert (
            privilege == "workspace user on workspace"
            or f" on uc:CATALOG:{catalog}" in privilege
            or f" on uc:SCHEMA:{catalog}." in privilege
            or f" on uc:EXTERNAL_LOCATION:datanova_{stack}_" in privilege
            or privilege.startswith(("CAN_USE on object", "CAN_READ on object", "READ on secret"))
            or privilege == f"CAN_MANAGE_RUN on object datanova-{stack}-jobs-medallion"
        ), privilege
    assert not [p for p in held if "admin" in p or "manager" in p or "CAN_MANAGE on" in p]


# --------------------------------------------------------- 3. account power in one place


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_no_principal_of_a_non_owning_stack_holds_an_account_role(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    assert rendered.of_type(PRINCIPAL_ROLE) == []
    for principal, privileges in granted(rendered).items():
        assert not [p for p in privileges if p.startswith("account admin")], principal
    # What the deployer gets instead: group manager on the stack's own groups.
    deployer = granted(rendered)[f"ServicePrincipal datanova-{stack}-identity-deployer"]
    managed = [p for p in deployer if p.startswith("group manager on Group")]
    assert len(managed) == len(rendered.config.identity.groups)
    assert all(f"datanova-{stack}-identity-group-" in p for p in managed)


def test_only_the_account_owning_stack_makes_an_account_admin(plan: PlanOf) -> None:
    holders = {
        stack: [who for who, p in granted(plan(stack)).items() if "account admin on account" in p]
        for stack in SHIPPED_STACKS
    }
    assert holders == {
        "dev": [],
        "staging": [],
        "prod": ["ServicePrincipal datanova-prod-identity-deployer"],
    }


def test_two_account_owning_stacks_are_refused(
    stack_document: DocumentOf, validate: Callable[[str, StackDocument], StackConfig]
) -> None:
    documents = {stack: stack_document(stack) for stack in SHIPPED_STACKS}
    documents["dev"]["config"]["dataops:databricks"]["accountOwner"] = True
    configs = {f"Pulumi.{s}.yaml": validate(s, d) for s, d in documents.items()}
    with pytest.raises(ConfigError) as caught:
        check_shared_singletons(configs)
    assert str(caught.value).startswith(
        "Pulumi.dev.yaml, Pulumi.prod.yaml: dataops:databricks.accountOwner: more than one stack"
    )


def test_without_account_admin_the_account_objects_are_the_bootstraps(plan: PlanOf) -> None:
    """Put the account role back and CI creates groups; take prod's away and it cannot."""
    rendered = plan("prod")
    role = single(rendered, PRINCIPAL_ROLE)
    report = check_access(_without(rendered, role), "ci")
    line = denied_line(report)
    assert line is not None and line.endswith("it needs account admin on account")
    refused = {d.resource.type for d in report.decisions if d.outcome == "denied"}
    assert {"databricks:index/group:Group", "databricks:index/user:User"} <= refused


# ------------------------------------------------------------ 5. the region's metastore


def test_creating_a_metastore_where_one_exists_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, stack_document: DocumentOf, render: Render
) -> None:
    existing = {
        "id": "m", "metastoreId": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
        "metastoreInfo": {"name": "metastore_azure_westeurope", "region": "westeurope"},
    }  # fmt: skip
    monkeypatch.setitem(
        mocks.INVOKE_RESULTS, "databricks:index/getMetastore:getMetastore", lambda _a: existing
    )
    with pytest.raises(ConfigError) as caught:
        render("prod", stack_document("prod"))
    assert str(caught.value) == (
        "Pulumi.prod.yaml: dataops:unityCatalog.metastore.mode: the account already has "
        "metastore 'metastore_azure_westeurope' (0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d) in "
        "westeurope; adopt it: mode reuse with id 0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d, or "
        "mode auto"
    )
    # mode auto adopts it: no metastore created, the assignment names the existing one.
    document = stack_document("prod")
    document["config"]["dataops:unityCatalog"]["metastore"]["mode"] = "auto"
    rendered = render("prod", document)
    assert rendered.of_type(METASTORE) == []
    assert rendered.outputs["metastoreId"] == existing["metastoreId"]


def test_mode_auto_creates_the_metastore_when_the_region_has_none(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("prod")
    document["config"]["dataops:unityCatalog"]["metastore"]["mode"] = "auto"
    rendered = render("prod", document)
    assert [m.inputs["region"] for m in rendered.of_type(METASTORE)] == ["westeurope"]


def test_our_own_metastore_found_again_is_no_conflict(
    monkeypatch: pytest.MonkeyPatch, stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("prod")
    name = document["config"]["dataops:unityCatalog"]["metastore"]["name"]
    ours = {"id": "m", "metastoreId": "x", "metastoreInfo": {"name": name}}
    monkeypatch.setitem(
        mocks.INVOKE_RESULTS, "databricks:index/getMetastore:getMetastore", lambda _a: ours
    )
    assert len(render("prod", document).of_type(METASTORE)) == 1


# ------------------------------------------------------ 6. ordering and replacement


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_owned_catalog_objects_wait_for_the_metastore_grant_and_the_membership(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    privileges = single(rendered, GRANT, "-uc-metastore-privileges")
    membership = single(rendered, MEMBER, "-identity-deployer-member-platform-admins")
    for owned in (*rendered.of_type(STORAGE_CREDENTIAL), *rendered.of_type(CATALOG)):
        assert privileges.urn in owned.dependencies, owned.name
        assert membership.urn in owned.dependencies, owned.name


def test_a_catalog_object_created_before_the_metastore_grant_is_refused(plan: PlanOf) -> None:
    """prod's deployer (an account admin) grants the owner group its metastore privileges
    in the same deploy: the credential created through that group must wait for it."""
    rendered = plan("prod")
    privileges = single(rendered, GRANT, "-uc-metastore-privileges")
    credential = single(rendered, STORAGE_CREDENTIAL)
    broken = _replace(
        rendered,
        credential,
        dependencies=tuple(d for d in credential.dependencies if d != privileges.urn),
    )
    line = denied_line(check_access(broken, "ci"))
    assert line == (
        "access: prod: the ci caller cannot create StorageCredential datanova-prod-uc-credential:"
        " it needs CREATE_STORAGE_CREDENTIAL on uc:METASTORE:, member on Group"
        " datanova-prod-identity-group-platform-admins"
    )


def test_ci_keeps_its_own_git_credential(plan: PlanOf) -> None:
    """Setting a principal's git credential takes Service Principal Manager on it."""
    rendered = plan("dev")
    rules = single(rendered, RULE_SET, "-identity-deployer-rules")
    assert {
        "role": "roles/servicePrincipal.manager",
        "principals": [f"servicePrincipals/{rendered.outputs['deployerApplicationId']}"],
    } in rules.inputs["grantRules"]
    line = denied_line(check_access(_without(rendered, rules), "ci"))
    assert line is not None and line.startswith(
        "access: dev: the ci caller cannot create GitCredential datanova-dev-git-folders-credential"
    )
    assert single(rendered, GIT_CREDENTIAL)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_role_assignments_with_derived_names_delete_before_they_replace(
    plan: PlanOf, stack: str
) -> None:
    for assignment in plan(stack).of_type(ROLE):
        assert assignment.delete_before_replace, assignment.name


def test_the_vaults_retention_and_the_workspaces_compute_mode_cannot_drift(plan: PlanOf) -> None:
    rendered = plan("prod")
    vault = single(rendered, VAULT)
    assert "properties.softDeleteRetentionInDays" in vault.ignore_changes
    assert single(rendered, WORKSPACE).inputs["computeMode"] == "Hybrid"


def test_the_report_lists_resources_in_dependency_order(plan: PlanOf) -> None:
    report = check_access(plan("dev"), "ci")
    order = [d.resource.urn for d in report.decisions]
    for position, decision in enumerate(report.decisions):
        for dependency in decision.resource.dependencies:
            if dependency in order:
                assert order.index(dependency) < position, decision.resource.name
    text = render_report(report)
    assert text.splitlines()[-1].startswith("access dev --caller ci: ")
    # Each line names where the privilege came from in the plan.
    folder = next(d for d in report.decisions if d.resource.name == "datanova-dev-code-folder")
    assert folder.came_from == (
        "assignment: MwsPermissionAssignment datanova-dev-workspace-access-deployer",
    )
