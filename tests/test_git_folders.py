"""Git folders: developers on develop in their own folder, production on main."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from plan_helpers import (
    GIT_CREDENTIAL,
    MEMBER,
    PERMISSIONS,
    REPO,
    SHIPPED_STACKS,
    WORKSPACE_ASSIGNMENT,
    StackDocument,
    depends_on,
    masked,
    single,
)

from dataops.engine import Plan, PlannedResource

PlanOf = Callable[[str], Plan]
Render = Callable[[str, StackDocument], Plan]
DocumentOf = Callable[[str], StackDocument]


def _permissions_of(plan: Plan, folder: PlannedResource) -> PlannedResource:
    (permissions,) = [p for p in plan.of_type(PERMISSIONS) if folder.urn in p.dependencies]
    return permissions


def test_each_developers_git_folder_tracks_develop_in_their_user_folder(plan: PlanOf) -> None:
    rendered = plan("dev")
    developers = rendered.config.git_folders.developers
    assert developers
    folders = {f.inputs["path"]: f for f in rendered.of_type(REPO) if "-developer-" in f.name}
    assert set(folders) == {f"/Repos/{email}/dataops" for email in developers}
    for email in developers:
        folder = folders[f"/Repos/{email}/dataops"]
        assert folder.inputs["branch"] == "develop"
        assert folder.inputs["url"] == rendered.outputs["repositoryCloneUrl"]
        # The developer manages their own checkout, nobody else is granted on it.
        assert _permissions_of(rendered, folder).inputs["accessControls"] == [
            {"userName": email, "permissionLevel": "CAN_MANAGE"}
        ]


def test_developers_folders_wait_until_they_are_in_the_workspace(plan: PlanOf) -> None:
    rendered = plan("dev")
    memberships = rendered.of_type(MEMBER)
    for folder in rendered.of_type(REPO):
        for membership in memberships:
            assert depends_on(rendered, folder, membership), (folder.name, membership.name)


def test_prod_has_no_developer_folders(plan: PlanOf) -> None:
    assert [f.name for f in plan("prod").of_type(REPO)] == ["datanova-prod-git-folders-production"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_production_git_folder_tracks_main_managed_by_the_deployer(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    production = single(rendered, REPO, "-production")
    assert production.inputs["branch"] == "main"
    assert production.inputs["path"] == "/Repos/Production/dataops"
    assert rendered.outputs["productionGitFolderPath"] == "/Repos/Production/dataops"
    controls = _permissions_of(rendered, production).inputs["accessControls"]
    assert controls[0] == {
        "servicePrincipalName": rendered.outputs["deployerApplicationId"],
        "permissionLevel": "CAN_MANAGE",
    }
    # Everyone else reads production code; nobody edits it in the workspace.
    assert controls[1:] == [
        {"groupName": group, "permissionLevel": "CAN_READ"}
        for group in rendered.outputs["groupNames"]
    ]


def test_production_path_follows_the_config(stack_document: DocumentOf, render: Render) -> None:
    document = stack_document("staging")
    document["config"]["dataops:gitFolders"]["productionPath"] = "/Repos/Release/platform"
    rendered = render("staging", document)
    assert single(rendered, REPO, "-production").inputs["path"] == "/Repos/Release/platform"
    assert rendered.outputs["productionGitFolderPath"] == "/Repos/Release/platform"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_deployers_git_credential_is_forced_and_its_token_secret(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    credential = single(rendered, GIT_CREDENTIAL)
    assert credential.inputs["gitProvider"] == "gitHub"
    assert credential.inputs["force"] is True
    assert masked(credential.inputs["personalAccessToken"])
    deployer_id = single(rendered, WORKSPACE_ASSIGNMENT, "-access-deployer").inputs["principalId"]
    assert credential.inputs["principalId"] == deployer_id
    for folder in rendered.of_type(REPO):
        assert credential.urn in folder.dependencies


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_git_folders_live_on_the_workspace_provider(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    workspace = f"datanova-{stack}-databricks-workspace"
    for token in (GIT_CREDENTIAL, REPO, PERMISSIONS):
        for resource in rendered.of_type(token):
            provider = rendered.provider_of(resource)
            assert provider is not None and provider.name == workspace, resource.name
