"""Source control (GitHub or Azure DevOps), branch protection, and Databricks Git folders."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from components.config.types import (
    ApiInt,
    AzureDevopsOrganizationUrl,
    Email,
    GitBranch,
    GithubName,
    StrictBool,
    WorkspacePath,
    _doc,
    _Model,
    _PathError,
    _require_unique,
    _required,
)


class BranchProtectionConfig(_Model):
    required_approvals: ApiInt = _doc(1, "Approving reviews a pull request needs", ge=0, le=6)
    required_checks: tuple[str, ...] = _doc((), "Status checks that must pass (job names)")
    dismiss_stale_reviews: StrictBool = _doc(True, "A new push dismisses earlier approvals")
    require_code_owner_reviews: StrictBool = _doc(True, "CODEOWNERS must approve their paths")
    require_linear_history: StrictBool = _doc(True, "No merge commits")
    enforce_admins: StrictBool = _doc(True, "Rules apply to administrators too")

    @model_validator(mode="after")
    def _checks_unique(self) -> BranchProtectionConfig:
        _require_unique(self.required_checks, "required_checks")
        return self


class GithubConfig(_Model):
    owner: GithubName = _required("GitHub organization or user")
    repository: GithubName = _required("Repository name")
    manage_repository: StrictBool = _doc(
        False, "This stack creates and protects the repository; exactly one stack sets it"
    )
    visibility: Literal["private", "internal", "public"] = _doc("private", "Repository visibility")
    description: str = _doc(
        "Governed Azure Databricks platform and its job code", "Repository description"
    )
    main_protection: BranchProtectionConfig = _doc(
        BranchProtectionConfig(required_approvals=2), "Rules on main (production)"
    )
    develop_protection: BranchProtectionConfig = _doc(
        # Lighter than main: repository admins may bypass, which is also how the owning
        # stack commits CODEOWNERS to develop.
        BranchProtectionConfig(
            required_approvals=1,
            require_code_owner_reviews=False,
            require_linear_history=False,
            enforce_admins=False,
        ),
        "Rules on develop (integration)",
    )
    environment_reviewers: tuple[GithubName, ...] = _doc(
        (), "GitHub users who approve deployments to this stack's environment"
    )
    code_owners: tuple[str, ...] = _doc((), "Owners written to CODEOWNERS, e.g. @org/team")
    ci_app_id: ApiInt | None = _doc(
        None,
        "ID of the GitHub App whose installation token CI's deploys use; develop's rule lets"
        " it through like a repository admin (an App is no repository role), so a deploy"
        " can update CODEOWNERS",
        gt=0,
    )

    @model_validator(mode="after")
    def _code_owners_writable(self) -> GithubConfig:
        # GitHub logins and team slugs are case-insensitive.
        _require_unique(self.environment_reviewers, "environment_reviewers", ignore_case=True)
        _require_unique(self.code_owners, "code_owners", ignore_case=True)
        if self.manage_repository and self.code_owners and self.develop_protection.enforce_admins:
            raise _PathError(
                ("developProtection", "enforceAdmins"),
                "must be false while codeOwners is set: this stack commits CODEOWNERS to "
                "develop as a repository admin, which the develop rule must let through",
            )
        return self


class AzureDevopsConfig(_Model):
    organization_url: AzureDevopsOrganizationUrl = _required("https://dev.azure.com/<organization>")
    project: str = _required("Azure DevOps project")
    repository: str = _required("Azure Repos repository")
    manage_project: StrictBool = _doc(
        False, "This stack creates the project, repository and policies; exactly one stack sets it"
    )
    minimum_reviewers: ApiInt = _doc(2, "Reviewers a pull request to main needs", ge=0, le=10)
    pipeline_path: str = _doc(
        "azure-pipelines.yml", "YAML pipeline that validates pull requests into main"
    )


class SourceControlConfig(_Model):
    provider: Literal["github", "azuredevops"] = _doc("github", "Where the code lives")
    github: GithubConfig | None = _doc(None, "GitHub settings (provider github)")
    azure_devops: AzureDevopsConfig | None = _doc(
        None, "Azure DevOps settings (provider azuredevops)"
    )
    develop_branch: GitBranch = _doc(
        "develop", "Integration branch; developers' Git folders follow it"
    )
    main_branch: GitBranch = _doc("main", "Production branch; the production Git folder follows it")

    @model_validator(mode="after")
    def _provider_section(self) -> SourceControlConfig:
        if self.provider == "github" and self.github is None:
            raise _PathError(("github",), "is required when provider is github")
        if self.provider == "azuredevops" and self.azure_devops is None:
            raise _PathError(("azureDevops",), "is required when provider is azuredevops")
        if self.develop_branch == self.main_branch:
            raise _PathError(
                ("developBranch",),
                f"{self.develop_branch!r} is also mainBranch; changes reach main from develop "
                "through a pull request, so they must differ",
            )
        return self


class GitFoldersConfig(_Model):
    developers: tuple[Email, ...] = _doc(
        (), "identity.users who get a Git folder on develop in their user folder"
    )
    production_path: WorkspacePath = _doc(
        "/Repos/Production/dataops", "Workspace path of the production Git folder (on main)"
    )

    @model_validator(mode="after")
    def _repos_path(self) -> GitFoldersConfig:
        _require_unique(self.developers, "developers")
        parts = self.production_path.split("/")
        if parts[1] == "Repos" and len(parts) != 4:
            raise _PathError(
                ("productionPath",),
                f"{self.production_path!r} is not a Git folder path: under /Repos it is "
                "/Repos/<folder>/<name>, for example /Repos/Production/dataops",
            )
        return self
