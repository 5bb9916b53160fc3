"""Source control: one owner of the repository, its protection, and each stack's CI entry."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from plan_helpers import (
    ADO_BRANCH,
    ADO_BUILD,
    ADO_CONNECTION,
    ADO_PIPELINE,
    ADO_PROJECT,
    ADO_REPOSITORY,
    ADO_REVIEWERS,
    BRANCH,
    DEFAULT_BRANCH,
    ENVIRONMENT,
    FEDERATED_CREDENTIAL,
    FEDERATION_POLICY,
    GET_REPOSITORY,
    GET_USER,
    GIT_CREDENTIAL,
    MANAGED_IDENTITY,
    PROTECTION,
    REPO,
    REPOSITORY,
    REPOSITORY_FILE,
    RULESET,
    SHIPPED_STACKS,
    VARIABLE,
    StackDocument,
    provider_type,
    single,
)

from dataops.engine import Plan, PlannedResource

DEPLOYMENT_POLICY = (
    "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
)
REPOSITORY_ONLY = (REPOSITORY, BRANCH, DEFAULT_BRANCH, REPOSITORY_FILE, PROTECTION, RULESET)


# The contract with the delivery workflows: exactly these names, in every environment.
CI_VARIABLES = {
    "ARM_CLIENT_ID",
    "ARM_TENANT_ID",
    "ARM_SUBSCRIPTION_ID",
    "DATABRICKS_HOST",
    "DATABRICKS_AZURE_RESOURCE_ID",
    "DATABRICKS_ACCOUNT_ID",
    "DATABRICKS_CLIENT_ID",
}

PlanOf = Callable[[str], Plan]
Render = Callable[[str, StackDocument], Plan]
DocumentOf = Callable[[str], StackDocument]


def _main_protection(plan: Plan) -> PlannedResource:
    return single(plan, PROTECTION, "-protect-main")


def test_main_requires_2_approvals_in_prod_config(plan: PlanOf) -> None:
    reviews = _main_protection(plan("prod")).inputs["requiredPullRequestReviews"]
    assert reviews == [
        {
            "requiredApprovingReviewCount": 2,
            "dismissStaleReviews": True,
            "requireCodeOwnerReviews": True,
        }
    ]


def test_main_allows_no_force_push_no_deletion_and_binds_admins(plan: PlanOf) -> None:
    protection = _main_protection(plan("prod"))
    assert protection.inputs["pattern"] == "main"
    assert protection.inputs["allowsForcePushes"] is False
    assert protection.inputs["allowsDeletions"] is False
    assert protection.inputs["enforceAdmins"] is True
    assert protection.inputs["requiredLinearHistory"] is True


def test_main_requires_the_configured_status_checks(plan: PlanOf) -> None:
    checks = _main_protection(plan("prod")).inputs["requiredStatusChecks"]
    assert checks == [{"strict": True, "contexts": ["lint", "typecheck", "test", "offline-diff"]}]


def test_approvals_on_main_follow_the_config(stack_document: DocumentOf, render: Render) -> None:
    document = stack_document("prod")
    github = document["config"]["dataops:sourceControl"]["github"]
    github["mainProtection"] = {"requiredApprovals": 3, "requiredChecks": []}
    rendered = render("prod", document)
    protection = _main_protection(rendered)
    reviews = protection.inputs["requiredPullRequestReviews"]
    assert reviews[0]["requiredApprovingReviewCount"] == 3
    assert "requiredStatusChecks" not in protection.inputs


def test_develop_has_a_lighter_rule_admins_may_bypass(plan: PlanOf) -> None:
    ruleset = single(plan("prod"), RULESET, "-protect-develop")
    assert ruleset.inputs["target"] == "branch"
    assert ruleset.inputs["enforcement"] == "active"
    assert ruleset.inputs["conditions"] == {
        "refName": {"includes": ["refs/heads/develop"], "excludes": []}
    }
    rules = ruleset.inputs["rules"]
    assert rules["pullRequest"]["requiredApprovingReviewCount"] == 1
    assert rules["pullRequest"]["requireCodeOwnerReview"] is False
    assert rules["requiredStatusChecks"]["requiredChecks"] == [{"context": "test"}]
    assert rules["deletion"] is True and rules["nonFastForward"] is True
    # CI's GitHub App holds no repository role: it is let through by its App id, so a
    # deploy that changes CODEOWNERS is not refused by the rule it keeps.
    assert ruleset.inputs["bypassActors"] == [
        {"actorType": "RepositoryRole", "actorId": 5, "bypassMode": "always"},
        {"actorType": "Integration", "actorId": 1048576, "bypassMode": "always"},
    ]


def test_without_a_ci_app_only_repository_admins_bypass_develop(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("prod")
    del document["config"]["dataops:sourceControl"]["github"]["ciAppId"]
    ruleset = single(render("prod", document), RULESET, "-protect-develop")
    assert ruleset.inputs["bypassActors"] == [
        {"actorType": "RepositoryRole", "actorId": 5, "bypassMode": "always"}
    ]


def test_prod_creates_the_protected_repository_with_develop_as_default(plan: PlanOf) -> None:
    rendered = plan("prod")
    repository = single(rendered, REPOSITORY)
    assert repository.protect
    assert repository.inputs["name"] == "dataops"
    assert repository.inputs["visibility"] == "private"
    assert repository.inputs["autoInit"] is True
    assert repository.inputs["archiveOnDestroy"] is True
    # Linear history on main: merge commits are not offered at all.
    assert repository.inputs["allowMergeCommit"] is False
    default = single(rendered, DEFAULT_BRANCH)
    assert default.inputs == {"repository": "dataops", "branch": "develop", "rename": True}
    main = single(rendered, BRANCH, "-branch-main")
    assert main.inputs["branch"] == "main"
    assert main.inputs["sourceBranch"] == "develop"
    assert default.urn in main.dependencies
    assert main.urn in _main_protection(rendered).dependencies


def test_codeowners_is_committed_to_develop_before_any_rule(plan: PlanOf) -> None:
    rendered = plan("prod")
    codeowners = single(rendered, REPOSITORY_FILE, "-codeowners")
    assert codeowners.inputs["file"] == ".github/CODEOWNERS"
    assert codeowners.inputs["branch"] == "develop"
    assert "* @datanova/platform-admins\n" in codeowners.inputs["content"]
    # main branches off develop after the commit, so it starts with CODEOWNERS too.
    assert codeowners.urn in single(rendered, BRANCH, "-branch-main").dependencies
    assert codeowners.urn in single(rendered, RULESET).dependencies


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_dev_and_staging_look_the_repository_up_and_create_none(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    for token in REPOSITORY_ONLY:
        assert rendered.of_type(token) == [], token
    lookups = [args for token, args in rendered.invokes if token == GET_REPOSITORY]
    assert lookups == [{"fullName": "datanova/dataops"}]
    assert rendered.outputs["repositoryCloneUrl"] == "https://github.com/datanova/dataops.git"


def test_only_prod_owns_the_repository(plan: PlanOf) -> None:
    owners = [stack for stack in SHIPPED_STACKS if plan(stack).of_type(REPOSITORY)]
    assert owners == ["prod"]
    assert not any(token == GET_REPOSITORY for token, _ in plan("prod").invokes)


def _environment(plan: Plan, name: str) -> PlannedResource:
    (environment,) = [e for e in plan.of_type(ENVIRONMENT) if e.inputs["environment"] == name]
    return environment


def _variables(plan: Plan, environment: str) -> dict[str, object]:
    return {
        v.inputs["variableName"]: v.inputs["value"]
        for v in plan.of_type(VARIABLE)
        if v.inputs["environment"] == environment
    }


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_stack_creates_its_own_environment_with_cis_variables(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    environment = _environment(rendered, stack)
    assert environment.inputs["repository"] == "dataops"
    variables = _variables(rendered, stack)
    assert set(variables) == CI_VARIABLES
    for variable in rendered.of_type(VARIABLE):
        if variable.inputs["environment"] == stack:
            assert environment.urn in variable.dependencies
    config, outputs = rendered.config, rendered.outputs
    assert variables["ARM_CLIENT_ID"] == outputs["deployerClientId"]
    assert variables["ARM_TENANT_ID"] == config.azure.tenant_id
    assert variables["ARM_SUBSCRIPTION_ID"] == config.azure.subscription_id
    assert variables["DATABRICKS_HOST"] == outputs["workspaceUrl"]
    assert variables["DATABRICKS_AZURE_RESOURCE_ID"] == outputs["workspaceResourceId"]
    assert variables["DATABRICKS_ACCOUNT_ID"] == config.databricks.account_id
    assert variables["DATABRICKS_CLIENT_ID"] == outputs["deployerApplicationId"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_previews_get_their_own_environment_with_the_read_only_identities(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    preview = _environment(rendered, f"{stack}-preview")
    # Any branch (a pull request's) may use it: no branch policy. Reviewers only in prod,
    # whose secrets a preview can decrypt (tests/test_delivery_settings.py).
    assert ("reviewers" in preview.inputs) == (stack == "prod")
    assert "deploymentBranchPolicy" not in preview.inputs
    variables = _variables(rendered, f"{stack}-preview")
    assert set(variables) == CI_VARIABLES
    deploy = _variables(rendered, stack)
    assert variables["ARM_CLIENT_ID"] != deploy["ARM_CLIENT_ID"]
    assert variables["DATABRICKS_CLIENT_ID"] != deploy["DATABRICKS_CLIENT_ID"]
    assert variables["DATABRICKS_HOST"] == deploy["DATABRICKS_HOST"]
    reader = single(rendered, MANAGED_IDENTITY, "-preview-identity")
    assert reader.inputs["resourceName"] == f"id-datanova-{stack}-preview"


@pytest.mark.parametrize(
    ("stack", "branch"), [("dev", "develop"), ("staging", "main"), ("prod", "main")]
)
def test_each_deploy_environment_accepts_only_the_branch_that_deploys_it(
    plan: PlanOf, stack: str, branch: str
) -> None:
    """The deploy identities are powerful (the deployer is an account admin): a workflow
    on any other branch must not be able to run in the environment that hands them out."""
    rendered = plan(stack)
    environment = _environment(rendered, stack)
    assert environment.inputs["deploymentBranchPolicy"] == {
        "protectedBranches": False,
        "customBranchPolicies": True,
    }
    (policy,) = rendered.of_type(DEPLOYMENT_POLICY)
    assert policy.inputs == {"repository": "dataops", "environment": stack, "branchPattern": branch}
    assert environment.urn in policy.dependencies


def test_prod_environment_requires_the_configured_reviewers(plan: PlanOf) -> None:
    rendered = plan("prod")
    environment = _environment(rendered, "prod")
    looked_up = [args["username"] for token, args in rendered.invokes if token == GET_USER]
    assert looked_up == ["ana-costa-datanova", "farid-haddad-datanova"]
    (reviewers,) = environment.inputs["reviewers"]
    assert len(reviewers["users"]) == 2 and all(isinstance(u, int) for u in reviewers["users"])
    assert environment.inputs["preventSelfReview"] is True
    assert environment.inputs["canAdminsBypass"] is False


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_only_prod_needs_reviewers(plan: PlanOf, stack: str) -> None:
    environment = _environment(plan(stack), stack)
    assert "reviewers" not in environment.inputs
    assert environment.inputs["canAdminsBypass"] is True


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_github_resources_use_the_stacks_github_provider(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    provider = single(rendered, "pulumi:providers:github")
    assert provider.inputs["owner"] == "datanova"
    assert "token" not in provider.inputs  # from the environment, never from config
    github = [r for r in rendered.resources if r.type.startswith("github:")]
    assert github
    for resource in github:
        assert resource.provider == provider.urn, resource.name
    assert rendered.of_type("pulumi:providers:azuredevops") == []


# ----------------------------------------------------------------------- Azure DevOps


def _azure_devops(document: StackDocument, manage: bool) -> StackDocument:
    document["config"]["dataops:sourceControl"] = {
        "provider": "azuredevops",
        "azureDevops": {
            "organizationUrl": "https://dev.azure.com/datanova",
            "project": "Data Platform",
            "repository": "dataops",
            "manageProject": manage,
            "minimumReviewers": 2,
        },
    }
    return document


def test_azure_devops_owner_creates_project_repository_and_main_policies(
    stack_document: DocumentOf, render: Render
) -> None:
    rendered = render("prod", _azure_devops(stack_document("prod"), manage=True))
    project = single(rendered, ADO_PROJECT)
    assert project.inputs["name"] == "Data Platform" and project.protect
    repository = single(rendered, ADO_REPOSITORY)
    assert repository.inputs["name"] == "dataops"
    assert repository.inputs["defaultBranch"] == "refs/heads/develop"
    assert single(rendered, ADO_BRANCH).inputs["name"] == "main"
    reviewers = single(rendered, ADO_REVIEWERS)
    assert reviewers.inputs["blocking"] is True
    settings = reviewers.inputs["settings"]
    assert settings["reviewerCount"] == 2
    assert settings["onPushResetApprovedVotes"] is True
    assert settings["scopes"][0]["repositoryRef"] == "refs/heads/main"
    build = single(rendered, ADO_BUILD)
    assert build.inputs["settings"]["scopes"][0]["repositoryRef"] == "refs/heads/main"
    pipeline = single(rendered, ADO_PIPELINE)
    assert pipeline.inputs["repository"]["ymlPath"] == "azure-pipelines.yml"
    assert pipeline.urn in build.dependencies
    assert rendered.outputs["repositoryCloneUrl"] == (
        "https://dev.azure.com/datanova/Data%20Platform/_git/dataops"
    )
    for resource in rendered.resources:
        assert not resource.type.startswith("github:"), resource.name
        if resource.type.startswith("azuredevops:"):
            assert provider_type(rendered, resource) == "azuredevops"


def test_azure_pipelines_sign_in_through_the_service_connection(
    stack_document: DocumentOf, render: Render
) -> None:
    rendered = render("staging", _azure_devops(stack_document("staging"), manage=False))
    assert rendered.of_type(ADO_PROJECT) == [] and rendered.of_type(ADO_REPOSITORY) == []
    connection = single(rendered, ADO_CONNECTION, "-dataops-staging")
    assert connection.inputs["serviceEndpointName"] == "dataops-staging"
    assert connection.inputs["serviceEndpointAuthenticationScheme"] == "WorkloadIdentityFederation"
    assert (
        connection.inputs["credentials"]["serviceprincipalid"]
        == (rendered.outputs["deployerClientId"])
    )
    azure = single(rendered, FEDERATED_CREDENTIAL, "-azure-pipelines-staging")
    databricks = single(rendered, FEDERATION_POLICY, "-azure-pipelines-staging")
    subject = azure.inputs["subject"]
    assert subject.startswith("sc://") and subject.endswith("/dataops-staging")
    assert azure.inputs["resourceName"] == "id-datanova-staging-deployer"
    assert databricks.inputs["oidcPolicy"]["subject"] == subject
    assert databricks.inputs["oidcPolicy"]["issuer"] == azure.inputs["issuer"]
    assert databricks.inputs["oidcPolicy"]["audiences"] == ["api://AzureADTokenExchange"]
    assert connection.urn in azure.dependencies
    # Pull-request previews get their own connection, trusted by the read-only identity.
    preview = single(rendered, ADO_CONNECTION, "-dataops-staging-preview")
    preview_credential = single(rendered, FEDERATED_CREDENTIAL, "-azure-pipelines-staging-preview")
    assert preview_credential.inputs["resourceName"] == "id-datanova-staging-preview"
    assert preview.urn in preview_credential.dependencies
    # No GitHub federation when the code is not on GitHub.
    assert sorted(c.name for c in rendered.of_type(FEDERATED_CREDENTIAL)) == sorted(
        [azure.name, preview_credential.name]
    )
    assert single(rendered, GIT_CREDENTIAL).inputs["gitProvider"] == "azureDevOpsServices"
    for folder in rendered.of_type(REPO):
        assert folder.inputs["gitProvider"] == "azureDevOpsServices"
