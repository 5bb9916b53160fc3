"""Source control: where the code lives and the rules that carry it to production.

GitHub (the default): exactly one stack owns the repository (``manageRepository``):
it creates it with ``develop`` (the default branch) and ``main``, protects both, and
commits CODEOWNERS. Every stack, owner or not, creates its own GitHub environment,
named after the stack, holding the variables its deploy job reads; prod's environment
needs a reviewer and accepts deployments from ``main`` only, and ``prod-preview`` needs a
reviewer for every pull-request preview (it can decrypt prod's secrets). The owning stack
also sets what the delivery loop needs of the repository: GitHub Actions may open pull
requests (release-please), squash commits take the checked pull-request title, develop
takes squash merges only. Azure DevOps is the alternative: the owning stack creates the
project, repository and ``main``'s branch policies, and every stack a workload-identity
service connection for its pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_azuredevops as azuredevops
import pulumi_github as github

from components.config import AzureDevopsConfig, GithubConfig, SourceControlConfig
from components.identity import AZURE_TOKEN_EXCHANGE_AUDIENCE, CiIdentity, CiRole, CiTrust
from components.naming import Names

CODEOWNERS_PATH = ".github/CODEOWNERS"
# Built-in repository role ids, as rulesets name bypass actors.
REPOSITORY_ADMIN_ROLE = 5


@dataclass(frozen=True)
class SourceControlArgs:
    source_control: SourceControlConfig
    names: Names
    # The branch that deploys this stack, and whether reviewers bind admins too (the
    # stack's tier decides both).
    deploy_branch: str
    production: bool
    tenant_id: str
    subscription_id: str
    account_id: str
    workspace_url: pulumi.Input[str]
    workspace_resource_id: pulumi.Input[str]
    # The identities CI deploys and previews as: "deploy" and "preview".
    ci: Mapping[str, CiIdentity]
    github_provider: github.Provider | None = None
    azuredevops_provider: azuredevops.Provider | None = None


class SourceControl(pulumi.ComponentResource):
    """The repository (created or looked up), its protection, and this stack's CI entry."""

    clone_url: pulumi.Output[str]
    repository_name: str
    git_provider: str  # as Databricks git credentials and Git folders name it
    # Federations the identity layer must trust that only exist once this layer does
    # (Azure Pipelines' service connections).
    ci_trusts: list[CiTrust]

    def __init__(
        self, name: str, args: SourceControlArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:source:SourceControl", name, None, opts)
        source = args.source_control
        self.ci_trusts = []
        if source.provider == "github":
            if source.github is None or args.github_provider is None:
                raise ValueError("provider github needs sourceControl.github and its provider")
            self.repository_name = source.github.repository
            self.git_provider = "gitHub"
            self.clone_url = self._github(name, args, source.github, args.github_provider)
        else:
            if source.azure_devops is None or args.azuredevops_provider is None:
                raise ValueError(
                    "provider azuredevops needs sourceControl.azureDevops and its provider"
                )
            self.repository_name = source.azure_devops.repository
            self.git_provider = "azureDevOpsServices"
            self.clone_url = self._azure_devops(
                name, args, source.azure_devops, args.azuredevops_provider
            )
        self.register_outputs({"clone_url": self.clone_url})

    # ------------------------------------------------------------------------ GitHub

    def _github(
        self, name: str, args: SourceControlArgs, config: GithubConfig, provider: github.Provider
    ) -> pulumi.Output[str]:
        invoke = pulumi.InvokeOptions(parent=self, provider=provider)
        if config.manage_repository:
            repository_name = self._github_repository(name, args, config)
        else:
            # Owned by another stack: read it, so a missing repository fails the preview
            # instead of the first environment update.
            existing = github.get_repository_output(
                full_name=f"{config.owner}/{config.repository}", opts=invoke
            )
            repository_name = existing.name
        self._github_environment(name, args, config, repository_name, invoke)
        return repository_name.apply(
            lambda repository: f"https://github.com/{config.owner}/{repository}.git"
        )

    def _github_repository(
        self, name: str, args: SourceControlArgs, config: GithubConfig
    ) -> pulumi.Output[str]:
        source = args.source_control
        develop, main = source.develop_branch, source.main_branch
        protection = config.main_protection
        # The repository holds every stack's code and history: deleting it takes an
        # explicit unprotect, and even then GitHub archives it instead.
        # Merges: release-please versions from the commits that reach main, so those are
        # the commits CI checked. A squash commit takes the pull request's title, which
        # pr-title.yml checks (GitHub's default, COMMIT_OR_PR_TITLE, takes the lone
        # commit's message of a one-commit pull request, which nothing checked). Rebase
        # merges stay for promoting develop into main (its commits are those squash
        # commits; pr-title.yml lints every commit of a pull request into main); develop
        # takes squash merges only (its ruleset below). Values of squash_merge_commit_*:
        # pulumi_github Repository docstring; https://docs.github.com/rest/repos/repos#update-a-repository
        repository = github.Repository(
            f"{name}-repository",
            name=config.repository,
            description=config.description,
            visibility=config.visibility,
            auto_init=True,
            has_issues=True,
            has_wiki=False,
            allow_merge_commit=not protection.require_linear_history,
            allow_squash_merge=True,
            squash_merge_commit_title="PR_TITLE",
            squash_merge_commit_message="PR_BODY",
            allow_rebase_merge=True,
            delete_branch_on_merge=True,
            vulnerability_alerts=True,
            archive_on_destroy=True,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        child = pulumi.ResourceOptions(parent=self)
        # release-please opens its release pull request with GITHUB_TOKEN, which GitHub
        # refuses unless "Allow GitHub Actions to create and approve pull requests" is on
        # (https://docs.github.com/repositories/managing-your-repositorys-settings-and-features/enabling-features-for-your-repository/managing-github-actions-settings-for-a-repository#preventing-github-actions-from-creating-or-approving-pull-requests):
        # can_approve_pull_request_reviews of PUT /repos/{owner}/{repo}/actions/permissions/workflow
        # (pulumi_github WorkflowRepositoryPermissions;
        # https://docs.github.com/rest/actions/permissions#set-default-workflow-permissions-for-a-repository).
        # The token stays read-only by default: every workflow job asks for what it uses.
        # An organization (or enterprise) policy that disallows it overrides this setting.
        github.WorkflowRepositoryPermissions(
            f"{name}-actions-permissions",
            repository=repository.name,
            default_workflow_permissions="read",
            can_approve_pull_request_reviews=True,
            opts=child,
        )
        # auto_init's first branch carries the owner's default name; renaming it to
        # develop (the default branch) and branching main off it works whatever that is.
        default_branch = github.BranchDefault(
            f"{name}-default-branch",
            repository=repository.name,
            branch=develop,
            rename=True,
            opts=child,
        )
        # Committed before any rule exists; later changes go through develop's rule,
        # which repository admins (this stack's identity) may bypass.
        before_rules: list[pulumi.Resource] = [default_branch]
        if config.code_owners:
            before_rules.append(
                github.RepositoryFile(
                    f"{name}-codeowners",
                    repository=repository.name,
                    branch=default_branch.branch,
                    file=CODEOWNERS_PATH,
                    content=codeowners(config.code_owners),
                    commit_message="CODEOWNERS from the dataops stack config",
                    overwrite_on_create=True,
                    opts=child,
                )
            )
        main_branch = github.Branch(
            f"{name}-branch-{main}",
            repository=repository.name,
            branch=main,
            source_branch=default_branch.branch,
            opts=pulumi.ResourceOptions(parent=self, depends_on=before_rules),
        )
        # main: classic branch protection, because "admins included" is exactly
        # enforce_admins; nobody, the deploying identity included, pushes to main.
        github.BranchProtection(
            f"{name}-protect-{main}",
            repository_id=repository.node_id,
            pattern=main_branch.branch,
            enforce_admins=protection.enforce_admins,
            allows_deletions=False,
            allows_force_pushes=False,
            required_linear_history=protection.require_linear_history,
            required_pull_request_reviews=[
                github.BranchProtectionRequiredPullRequestReviewArgs(
                    required_approving_review_count=protection.required_approvals,
                    dismiss_stale_reviews=protection.dismiss_stale_reviews,
                    require_code_owner_reviews=protection.require_code_owner_reviews,
                )
            ],
            required_status_checks=(
                [
                    github.BranchProtectionRequiredStatusCheckArgs(
                        strict=True, contexts=list(protection.required_checks)
                    )
                ]
                if protection.required_checks
                else None
            ),
            opts=child,
        )
        # develop: a ruleset, because its lighter rule has a bypass list (repository
        # admins, unless enforceAdmins), which classic protection cannot express.
        lighter = config.develop_protection
        github.RepositoryRuleset(
            f"{name}-protect-{develop}",
            name=f"{develop} (dataops)",
            repository=repository.name,
            target="branch",
            enforcement="active",
            conditions=github.RepositoryRulesetConditionsArgs(
                ref_name=github.RepositoryRulesetConditionsRefNameArgs(
                    includes=[f"refs/heads/{develop}"], excludes=[]
                )
            ),
            rules=github.RepositoryRulesetRulesArgs(
                deletion=True,
                non_fast_forward=True,
                required_linear_history=lighter.require_linear_history,
                pull_request=github.RepositoryRulesetRulesPullRequestArgs(
                    # Feature pull requests land as one squash commit titled by the pull
                    # request (pulumi_github RepositoryRulesetRulesPullRequestArgs:
                    # allowed_merge_methods, values merge, squash, rebase).
                    allowed_merge_methods=["squash"],
                    required_approving_review_count=lighter.required_approvals,
                    dismiss_stale_reviews_on_push=lighter.dismiss_stale_reviews,
                    require_code_owner_review=lighter.require_code_owner_reviews,
                ),
                required_status_checks=(
                    github.RepositoryRulesetRulesRequiredStatusChecksArgs(
                        required_checks=[
                            github.RepositoryRulesetRulesRequiredStatusChecksRequiredCheckArgs(
                                context=check
                            )
                            for check in lighter.required_checks
                        ],
                        strict_required_status_checks_policy=False,
                    )
                    if lighter.required_checks
                    else None
                ),
            ),
            bypass_actors=(None if lighter.enforce_admins else develop_bypass(config)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=before_rules),
        )
        return repository.name

    def _github_environment(
        self,
        name: str,
        args: SourceControlArgs,
        config: GithubConfig,
        repository: pulumi.Output[str],
        invoke: pulumi.InvokeOptions,
    ) -> None:
        """The stack's deploy environment, and the read-only one its previews run in.

        The deploy environment hands out a token for the deploying identities, which are
        powerful (the deployer is a Databricks account admin), so every tier accepts
        deployments only from the one branch that deploys it (its tier's row says which:
        dev from develop, staging and prod from main); a workflow on any other branch
        cannot reach it. Pull requests preview in ``<stack>-preview``, whose identities
        can only read.
        """
        names, deploy_branch = args.names, args.deploy_branch
        child = pulumi.ResourceOptions(parent=self)
        # Environment reviewers are GitHub user ids; config names them by login.
        reviewer_ids = [
            github.get_user_output(username=login, opts=invoke).id.apply(int)
            for login in config.environment_reviewers
        ]
        environment = github.RepositoryEnvironment(
            f"{name}-environment",
            repository=repository,
            environment=names.deploy_environment,
            reviewers=(
                [github.RepositoryEnvironmentReviewerArgs(users=reviewer_ids)]
                if reviewer_ids
                else None
            ),
            prevent_self_review=True if reviewer_ids else None,
            # In production the reviewers bind everyone, repository admins included.
            can_admins_bypass=not args.production,
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True
            ),
            opts=child,
        )
        github.RepositoryEnvironmentDeploymentPolicy(
            f"{name}-environment-{deploy_branch}",
            repository=repository,
            environment=environment.environment,
            branch_pattern=deploy_branch,
            opts=child,
        )
        self._github_variables(
            f"{name}-variable",
            repository,
            environment,
            self._ci_variables(args, args.ci["deploy"]),
        )
        # Any branch may preview (that is what pull requests do); nothing here can write.
        # But a preview decrypts the stack's secrets and runs the branch's code, so in
        # production a reviewer (not the one who pushed: prevent_self_review) approves
        # each preview run first; anyone who can push a branch could otherwise print
        # prod's secrets. Reviewers and prevent_self_review: pulumi_github
        # RepositoryEnvironment; https://docs.github.com/actions/managing-workflow-runs-and-deployments/managing-deployments/managing-environments-for-deployment#required-reviewers
        gate_previews = args.production and bool(reviewer_ids)
        preview = github.RepositoryEnvironment(
            f"{name}-preview-environment",
            repository=repository,
            environment=names.preview_environment,
            reviewers=(
                [github.RepositoryEnvironmentReviewerArgs(users=reviewer_ids)]
                if gate_previews
                else None
            ),
            prevent_self_review=True if gate_previews else None,
            can_admins_bypass=not args.production,
            opts=child,
        )
        self._github_variables(
            f"{name}-preview-variable",
            repository,
            preview,
            self._ci_variables(args, args.ci["preview"]),
        )

    def _github_variables(
        self,
        prefix: str,
        repository: pulumi.Output[str],
        environment: github.RepositoryEnvironment,
        variables: dict[str, pulumi.Input[str]],
    ) -> None:
        for variable, value in variables.items():
            github.ActionsEnvironmentVariable(
                f"{prefix}-{variable}",
                repository=repository,
                environment=environment.environment,
                variable_name=variable,
                value=value,
                opts=pulumi.ResourceOptions(parent=self),
            )

    @staticmethod
    def _ci_variables(
        args: SourceControlArgs, principal: CiIdentity
    ) -> dict[str, pulumi.Input[str]]:
        # Exactly the names the delivery workflows read. None is a secret: CI signs in
        # through OIDC, so the environment holds identifiers only.
        return {
            "ARM_CLIENT_ID": principal.azure_client_id,
            "ARM_TENANT_ID": args.tenant_id,
            "ARM_SUBSCRIPTION_ID": args.subscription_id,
            "DATABRICKS_HOST": args.workspace_url,
            "DATABRICKS_AZURE_RESOURCE_ID": args.workspace_resource_id,
            "DATABRICKS_ACCOUNT_ID": args.account_id,
            "DATABRICKS_CLIENT_ID": principal.databricks_application_id,
        }

    # ------------------------------------------------------------------ Azure DevOps

    def _azure_devops(
        self,
        name: str,
        args: SourceControlArgs,
        config: AzureDevopsConfig,
        provider: azuredevops.Provider,
    ) -> pulumi.Output[str]:
        source = args.source_control
        child = pulumi.ResourceOptions(parent=self)
        if config.manage_project:
            project = azuredevops.Project(
                f"{name}-project",
                name=config.project,
                visibility="private",
                version_control="Git",
                description="Governed Azure Databricks platform and its job code",
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            project_id: pulumi.Output[str] = project.id
            repository = azuredevops.Git(
                f"{name}-repository",
                project_id=project_id,
                name=config.repository,
                # The initial commit lands on develop, the default branch.
                default_branch=f"refs/heads/{source.develop_branch}",
                initialization=azuredevops.GitInitializationArgs(init_type="Clean"),
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            repository_id: pulumi.Output[str] = repository.id
            repository_name: pulumi.Output[str] = repository.name
            azuredevops.GitRepositoryBranch(
                f"{name}-branch-{source.main_branch}",
                repository_id=repository_id,
                name=source.main_branch,
                ref_branch=repository.default_branch,
                opts=child,
            )
            self._azure_devops_policies(name, config, source.main_branch, project_id, repository)
        else:
            invoke = pulumi.InvokeOptions(parent=self, provider=provider)
            existing_project = azuredevops.get_project_output(name=config.project, opts=invoke)
            project_id = existing_project.id
            existing = azuredevops.get_git_repository_output(
                project_id=project_id, name=config.repository, opts=invoke
            )
            repository_name = existing.name
        self._azure_pipelines_federation(name, args, project_id)
        organization = config.organization_url.rstrip("/")
        return repository_name.apply(
            lambda repository: f"{organization}/{quote(config.project)}/_git/{quote(repository)}"
        )

    def _azure_devops_policies(
        self,
        name: str,
        config: AzureDevopsConfig,
        main: str,
        project_id: pulumi.Output[str],
        repository: azuredevops.Git,
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        main_ref = f"refs/heads/{main}"
        validation = azuredevops.BuildDefinition(
            f"{name}-pr-validation",
            project_id=project_id,
            name="dataops pull-request validation",
            repository=azuredevops.BuildDefinitionRepositoryArgs(
                repo_type="TfsGit",
                repo_id=repository.id,
                branch_name=repository.default_branch,
                yml_path=config.pipeline_path,
            ),
            ci_trigger=azuredevops.BuildDefinitionCiTriggerArgs(use_yaml=True),
            opts=child,
        )
        azuredevops.BranchPolicyMinReviewers(
            f"{name}-{main}-reviewers",
            project_id=project_id,
            enabled=True,
            blocking=True,
            settings=azuredevops.BranchPolicyMinReviewersSettingsArgs(
                reviewer_count=config.minimum_reviewers,
                submitter_can_vote=False,
                on_push_reset_approved_votes=True,
                scopes=[
                    azuredevops.BranchPolicyMinReviewersSettingsScopeArgs(
                        repository_id=repository.id, repository_ref=main_ref, match_type="Exact"
                    )
                ],
            ),
            opts=child,
        )
        azuredevops.BranchPolicyBuildValidation(
            f"{name}-{main}-build-validation",
            project_id=project_id,
            enabled=True,
            blocking=True,
            settings=azuredevops.BranchPolicyBuildValidationSettingsArgs(
                display_name="dataops pull-request validation",
                build_definition_id=validation.id.apply(int),
                valid_duration=720,
                scopes=[
                    azuredevops.BranchPolicyBuildValidationSettingsScopeArgs(
                        repository_id=repository.id, repository_ref=main_ref, match_type="Exact"
                    )
                ],
            ),
            opts=child,
        )

    def _azure_pipelines_federation(
        self, name: str, args: SourceControlArgs, project_id: pulumi.Output[str]
    ) -> None:
        names = args.names
        # The pipeline's Azure service connections sign in as the stack's managed
        # identities by workload identity federation: Azure DevOps issues the token, so
        # its issuer and subject come from the connection, and the identity layer trusts
        # them (ci_trusts). `dataops-<stack>` deploys; `dataops-<stack>-preview` previews
        # pull requests.
        roles: tuple[tuple[CiRole, str], ...] = (
            ("deploy", names.service_connection),
            ("preview", names.preview_service_connection),
        )
        for role, connection_name in roles:
            principal = args.ci[role]
            connection = azuredevops.ServiceEndpointAzureRM(
                f"{name}-service-connection-{connection_name}",
                project_id=project_id,
                service_endpoint_name=connection_name,
                description=f"Stack {names.stack} (workload identity federation, no secret)",
                service_endpoint_authentication_scheme="WorkloadIdentityFederation",
                credentials=azuredevops.ServiceEndpointAzureRMCredentialsArgs(
                    serviceprincipalid=principal.azure_client_id
                ),
                azurerm_spn_tenantid=args.tenant_id,
                azurerm_subscription_id=args.subscription_id,
                azurerm_subscription_name=f"dataops {names.stack}",
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.ci_trusts.append(
                CiTrust(
                    role,
                    connection_name.replace("dataops-", "azure-pipelines-"),
                    connection.workload_identity_federation_issuer,
                    connection.workload_identity_federation_subject,
                    databricks_audience=AZURE_TOKEN_EXCHANGE_AUDIENCE,
                )
            )


def develop_bypass(config: GithubConfig) -> list[github.RepositoryRulesetBypassActorArgs]:
    """Who may push past develop's rule: repository admins (a person's first deploy) and,
    when CI's GitHub App is configured, that App, which holds no repository role."""
    actors = [
        github.RepositoryRulesetBypassActorArgs(
            actor_type="RepositoryRole", actor_id=REPOSITORY_ADMIN_ROLE, bypass_mode="always"
        )
    ]
    if config.ci_app_id is not None:
        actors.append(
            github.RepositoryRulesetBypassActorArgs(
                actor_type="Integration", actor_id=config.ci_app_id, bypass_mode="always"
            )
        )
    return actors


def codeowners(owners: tuple[str, ...]) -> str:
    return (
        "# Managed by the dataops stack that owns this repository (sourceControl.github."
        "codeOwners);\n# change it there.\n"
        f"* {' '.join(owners)}\n"
    )
