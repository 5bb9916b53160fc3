"""Identity: groups, users, service principals, and how CI signs in without a secret."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from plan_helpers import (
    ENTITLEMENTS,
    FEDERATED_CREDENTIAL,
    FEDERATION_POLICY,
    GROUP,
    MANAGED_IDENTITY,
    MEMBER,
    METASTORE_ASSIGNMENT,
    PRINCIPAL,
    PRINCIPAL_ROLE,
    PRINCIPAL_SECRET,
    ROLE,
    RULE_SET,
    SHIPPED_STACKS,
    USER,
    VAULT_SECRET,
    WORKSPACE_ASSIGNMENT,
    StackDocument,
    assert_no_secret_in_clear,
    masked,
    provider_type,
    single,
)

from components.identity import DELEGABLE_ROLES, RBAC_ADMINISTRATOR
from components.naming import KEY_VAULT_SECRETS_USER
from dataops.engine import Plan, PlannedResource
from dataops.mocks import GENERATED_SECRET_PREFIX, SECRET_MASK

PlanOf = Callable[[str], Plan]
Render = Callable[[str, StackDocument], Plan]
DocumentOf = Callable[[str], StackDocument]

ACCOUNT_LEVEL = (
    USER,
    GROUP,
    MEMBER,
    WORKSPACE_ASSIGNMENT,
    PRINCIPAL,
    PRINCIPAL_ROLE,
    FEDERATION_POLICY,
    RULE_SET,
)


def _provider_name(plan: Plan, resource: PlannedResource) -> str:
    provider = plan.provider_of(resource)
    assert provider is not None, resource.name
    return provider.name


def _principal(plan: Plan, role: str) -> PlannedResource:
    return single(plan, PRINCIPAL, f"-identity-{role}")


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_account_level_identities_use_the_account_provider(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    for token in ACCOUNT_LEVEL:
        resources = rendered.of_type(token)
        # Only the account-owning stack's deployer gets an account role (issue 12).
        assert bool(resources) == (token != PRINCIPAL_ROLE or stack == "prod"), token
        for resource in resources:
            assert provider_type(rendered, resource) == "databricks", resource.name
            assert _provider_name(rendered, resource) == f"datanova-{stack}-databricks-account"
    for entitlements in rendered.of_type(ENTITLEMENTS):
        name = _provider_name(rendered, entitlements)
        assert name == f"datanova-{stack}-databricks-workspace", entitlements.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_each_stack_owns_its_groups_named_after_it(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    configured = [g.name for g in rendered.config.identity.groups]
    names = [group.inputs["displayName"] for group in rendered.of_type(GROUP)]
    assert sorted(names) == sorted(f"{stack}-{name}" for name in configured)
    assert rendered.outputs["groupNames"] == [f"{stack}-{name}" for name in configured]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_configured_user_lands_in_its_groups(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    groups = {g.urn: g.inputs["displayName"] for g in rendered.of_type(GROUP)}
    users = {u.urn: u.inputs["userName"] for u in rendered.of_type(USER)}
    found: dict[str, set[str]] = {}
    principal_memberships = []
    for member in rendered.of_type(MEMBER):
        (group,) = [groups[urn] for urn in member.dependencies if urn in groups]
        member_users = [users[urn] for urn in member.dependencies if urn in users]
        if not member_users:  # the deployer's, in the Unity Catalog owner group
            principal_memberships.append(member.name)
            continue
        (user,) = member_users
        found.setdefault(group, set()).add(user)
    assert principal_memberships == [f"datanova-{stack}-identity-deployer-member-platform-admins"]
    expected = {
        f"{stack}-{group.name}": set(group.members)
        for group in rendered.config.identity.groups
        if group.members
    }
    assert found == expected
    assert set(users.values()) == {u.email for u in rendered.config.identity.users}


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_account_users_are_adopted_not_duplicated(plan: PlanOf, stack: str) -> None:
    # Every stack lists the same people; the second stack must adopt, not fail.
    for user in plan(stack).of_type(USER):
        assert user.inputs["force"] is True, user.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_groups_get_their_workspace_role_and_entitlements(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    workspace_id = rendered.outputs["workspaceId"]
    for group in rendered.config.identity.groups:
        account_group = single(rendered, GROUP, f"-group-{group.name}")
        assignment = single(rendered, WORKSPACE_ASSIGNMENT, f"-workspace-access-group-{group.name}")
        assert assignment.inputs["workspaceId"] == workspace_id
        assert assignment.inputs["permissions"] == [group.workspace_role]
        assert account_group.urn in assignment.dependencies
        entitlements = single(rendered, ENTITLEMENTS, f"-entitlements-{group.name}")
        assert entitlements.inputs["workspaceAccess"] is group.entitlements.workspace_access
        sql = entitlements.inputs["databricksSqlAccess"]
        assert sql is group.entitlements.databricks_sql_access
        clusters = entitlements.inputs["allowClusterCreate"]
        assert clusters is group.entitlements.allow_cluster_create
        # Entitlements exist only once the group is in the workspace.
        assert assignment.urn in entitlements.dependencies


def test_cluster_creation_differs_between_dev_and_prod(plan: PlanOf) -> None:
    dev = single(plan("dev"), ENTITLEMENTS, "-entitlements-data-engineers")
    prod = single(plan("prod"), ENTITLEMENTS, "-entitlements-data-engineers")
    assert dev.inputs["allowClusterCreate"] is True
    assert prod.inputs["allowClusterCreate"] is False


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_deployer_administers_and_job_runner_uses_the_workspace(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    deployer, runner = _principal(rendered, "deployer"), _principal(rendered, "job-runner")
    principals = rendered.config.identity.service_principals
    assert deployer.inputs["displayName"] == principals.deployer.display_name
    assert runner.inputs["displayName"] == principals.job_runner.display_name
    assert single(rendered, WORKSPACE_ASSIGNMENT, "-access-deployer").inputs["permissions"] == [
        "ADMIN"
    ]
    assert single(rendered, WORKSPACE_ASSIGNMENT, "-access-job-runner").inputs["permissions"] == [
        "USER"
    ]
    # Account admin in the account-owning stack only; elsewhere group manager of its groups.
    if rendered.config.databricks.account_owner:
        admin = single(rendered, PRINCIPAL_ROLE)
        assert admin.inputs["role"] == "account_admin"
        assert deployer.urn in admin.dependencies
    else:
        assert rendered.of_type(PRINCIPAL_ROLE) == []
        managers = [r for r in rendered.of_type(RULE_SET) if r.name.endswith("-managers")]
        assert len(managers) == len(rendered.config.identity.groups)
    assert rendered.outputs["deployerApplicationId"] != rendered.outputs["jobRunnerApplicationId"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_deployer_may_run_jobs_as_the_job_runner(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    rule_set = single(rendered, RULE_SET, "-identity-job-runner-users")
    runner_app = rendered.outputs["jobRunnerApplicationId"]
    deployer_app = rendered.outputs["deployerApplicationId"]
    account = rendered.config.databricks.account_id
    assert rule_set.inputs["name"] == (
        f"accounts/{account}/servicePrincipals/{runner_app}/ruleSets/default"
    )
    # The deployer (CI) and the stack's platform admins (the bootstrap deploy): account
    # admins hold Manager, not User (issue 12).
    assert rule_set.inputs["grantRules"] == [
        {
            "principals": [f"servicePrincipals/{deployer_app}", f"groups/{stack}-platform-admins"],
            "role": "roles/servicePrincipal.user",
        }
    ]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_federated_subject_names_the_stacks_environment(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    subject = f"repo:datanova/dataops:environment:{stack}"
    credential = single(rendered, FEDERATED_CREDENTIAL, f"-identity-github-{stack}")
    assert credential.inputs["issuer"] == "https://token.actions.githubusercontent.com"
    assert credential.inputs["subject"] == subject
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert credential.inputs["resourceName"] == f"id-datanova-{stack}-deployer"
    policy = single(rendered, FEDERATION_POLICY, f"-identity-github-{stack}")
    assert policy.inputs["oidcPolicy"] == {
        "issuer": "https://token.actions.githubusercontent.com",
        "subject": subject,
        "audiences": [rendered.config.databricks.account_id],
    }
    # The policy belongs to the deployer (its numeric SCIM id), nobody else.
    deployer_id = single(rendered, WORKSPACE_ASSIGNMENT, "-access-deployer").inputs["principalId"]
    assert policy.inputs["servicePrincipalId"] == int(deployer_id)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_previews_sign_in_as_read_only_principals(plan: PlanOf, stack: str) -> None:
    """A pull request can edit its own workflow, so its environment must reach nothing
    that writes: the preview identities read, and only from `<stack>-preview`."""
    rendered = plan(stack)
    subject = f"repo:datanova/dataops:environment:{stack}-preview"
    credential = single(rendered, FEDERATED_CREDENTIAL, f"-identity-github-{stack}-preview")
    assert credential.inputs["subject"] == subject
    assert credential.inputs["resourceName"] == f"id-datanova-{stack}-preview"
    roles = [r for r in rendered.of_type(ROLE) if "-identity-preview-" in r.name]
    assert [r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] for r in roles] == [
        "acdd72a7-3385-48ef-bd42-f606fba81ae7"  # Reader
    ]
    assert roles[0].inputs["scope"].endswith(f"/resourceGroups/rg-datanova-{stack}")
    policy = single(rendered, FEDERATION_POLICY, f"-identity-github-{stack}-preview")
    assert policy.inputs["oidcPolicy"]["subject"] == subject
    preview = single(rendered, PRINCIPAL, "-identity-preview")
    preview_id = int(
        single(rendered, WORKSPACE_ASSIGNMENT, "-access-preview").inputs["principalId"]
    )
    assert policy.inputs["servicePrincipalId"] == preview_id
    assert single(rendered, WORKSPACE_ASSIGNMENT, "-access-preview").inputs["permissions"] == [
        "USER"
    ]
    # Not an account admin: only the deployer holds that role.
    assert all(preview.urn not in role.dependencies for role in rendered.of_type(PRINCIPAL_ROLE))


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_workspace_access_waits_for_the_metastore_assignment(plan: PlanOf, stack: str) -> None:
    """A workspace accepts account principals only once a metastore is attached."""
    rendered = plan(stack)
    attachment = single(rendered, METASTORE_ASSIGNMENT, "-assignment")
    for assignment in rendered.of_type(WORKSPACE_ASSIGNMENT):
        assert attachment.urn in assignment.dependencies, assignment.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_deployer_identity_may_manage_only_its_resource_group(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    subscription = rendered.config.azure.subscription_id
    identity = single(rendered, MANAGED_IDENTITY, "-deployer-identity")
    assert rendered.outputs["deployerClientId"]
    roles = [r for r in rendered.of_type(ROLE) if "-identity-deployer-" in r.name]
    # With customer-managed keys, Key Vault Crypto Officer on the stack's vault alone.
    key_officer = [r for r in roles if r.name.endswith("-deployer-key-officer")]
    assert len(key_officer) == (1 if rendered.config.customer_managed_keys else 0)
    for officer in key_officer:
        assert officer.inputs["scope"].endswith(
            f"/resourceGroups/rg-datanova-{stack}/providers/Microsoft.KeyVault/vaults/kv-datanova-{stack}"
        )
    roles = [r for r in roles if r not in key_officer]
    assert {r.inputs["roleDefinitionId"].rsplit("/", 1)[-1] for r in roles} == {
        "b24988ac-6180-42a0-ab88-20f7382dd24c",  # Contributor
        RBAC_ADMINISTRATOR,
    }
    for role in roles:
        assert (
            role.inputs["scope"]
            == f"/subscriptions/{subscription}/resourceGroups/rg-datanova-{stack}"
        )
        assert role.inputs["principalType"] == "ServicePrincipal"
        assert identity.urn in role.dependencies


def test_deployer_may_grant_only_the_data_plane_roles(plan: PlanOf) -> None:
    administrator = single(plan("prod"), ROLE, "-deployer-rbac-administrator")
    condition = administrator.inputs["condition"]
    assert administrator.inputs["conditionVersion"] == "2.0"
    assert "roleAssignments/write" in condition and "roleAssignments/delete" in condition
    assert KEY_VAULT_SECRETS_USER in DELEGABLE_ROLES
    for role in DELEGABLE_ROLES:
        assert condition.count(role) == 2  # once for write, once for delete
    owner = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
    for forbidden in (owner, RBAC_ADMINISTRATOR):  # nor may it grant itself more
        assert forbidden not in condition


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_role_the_layers_assign_is_one_the_deployer_may_keep(
    plan: PlanOf, stack: str
) -> None:
    # Azure evaluates the RBAC Administrator condition on every write and delete: a role
    # assignment outside DELEGABLE_ROLES could be created by the first (human) deploy but
    # never replaced or destroyed by CI.
    assigned = {
        role.name: role.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        for role in plan(stack).of_type(ROLE)
        # The deployer's own roles come from the bootstrap deploy, which CI never touches.
        if not role.name.endswith(
            ("-deployer-contributor", "-deployer-rbac-administrator", "-deployer-key-officer")
        )
    }
    assert len(assigned) >= 2, assigned  # at least the connector's and the preview's
    outside = {name: role for name, role in assigned.items() if role not in DELEGABLE_ROLES}
    assert not outside, f"roles the deployer may not keep: {outside}"


def test_deployer_role_assignment_names_are_stable_and_distinct_per_stack(plan: PlanOf) -> None:
    names = [
        role.inputs["roleAssignmentName"]
        for stack in SHIPPED_STACKS
        for role in plan(stack).of_type(ROLE)
        if "-identity-deployer-" in role.name
    ]
    # Contributor and RBAC Administrator everywhere; the key officer where keys are managed.
    keyed = sum(plan(stack).config.customer_managed_keys for stack in SHIPPED_STACKS)
    assert len(names) == len(set(names)) == 2 * len(SHIPPED_STACKS) + keyed


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_no_service_principal_has_a_secret_by_default(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    assert rendered.of_type(PRINCIPAL_SECRET) == []
    assert rendered.of_type(VAULT_SECRET) == []


def _with_client_secret(stack_document: DocumentOf, render: Render) -> Plan:
    document = stack_document("prod")
    principals = document["config"]["dataops:identity"]["servicePrincipals"]
    principals["deployer"]["clientSecret"] = True
    return render("prod", document)


def test_a_requested_secret_is_generated_and_kept_in_key_vault(
    stack_document: DocumentOf, render: Render
) -> None:
    rendered = _with_client_secret(stack_document, render)
    generated = single(rendered, PRINCIPAL_SECRET)
    assert provider_type(rendered, generated) == "databricks"
    deployer = _principal(rendered, "deployer")
    assert deployer.urn in generated.dependencies
    stored = single(rendered, VAULT_SECRET)
    assert stored.inputs["secretName"] == "databricks-deployer-client-secret"
    assert stored.inputs["vaultName"] == "kv-datanova-prod"
    assert masked(stored.inputs["properties"]["value"])
    assert generated.urn in stored.dependencies
    # Only the deployer asked for one.
    assert len(rendered.of_type(PRINCIPAL_SECRET)) == 1


def test_no_service_principal_secret_is_exported(
    stack_document: DocumentOf, render: Render, plan: PlanOf
) -> None:
    rendered = _with_client_secret(stack_document, render)
    text = rendered.dumps()
    assert GENERATED_SECRET_PREFIX not in text
    assert_no_secret_in_clear(rendered)
    for stack_plan in (rendered, *(plan(stack) for stack in SHIPPED_STACKS)):
        outputs = repr(stack_plan.outputs)
        assert SECRET_MASK not in outputs
        assert GENERATED_SECRET_PREFIX not in outputs
        assert not any("secret" in key.lower() for key in stack_plan.outputs)
