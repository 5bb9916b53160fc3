"""What the delivery loop needs of the repository, in the plan of the stack that owns it.

A new repository made by `pulumi up` must run the whole loop with no setting changed by
hand: GitHub Actions may open the release pull request, the commits that reach main are
the ones CI checked (squash commits titled by the checked pull-request title; develop
takes nothing else), and a pull request cannot read prod's secrets through its preview
without a reviewer's approval.

These assertions need the change to components/source_control.py described in the
issue-14 report (WorkflowRepositoryPermissions, the merge settings, develop's allowed
merge methods, reviewers on prod-preview); until it is applied they fail.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from plan_helpers import ENVIRONMENT, REPOSITORY, RULESET, WORKFLOW_PERMISSIONS, single

from dataops.engine import Plan, PlannedResource

PlanOf = Callable[[str], Plan]


def _environment(plan: Plan, name: str) -> PlannedResource:
    (environment,) = [e for e in plan.of_type(ENVIRONMENT) if e.inputs["environment"] == name]
    return environment


def test_github_actions_may_open_the_release_pull_request(plan: PlanOf) -> None:
    rendered = plan("prod")
    permissions = single(rendered, WORKFLOW_PERMISSIONS)
    assert permissions.inputs == {
        "repository": "dataops",
        # "Allow GitHub Actions to create and approve pull requests"
        "canApprovePullRequestReviews": True,
        # GITHUB_TOKEN stays read-only unless a job asks (every workflow: permissions: {}).
        "defaultWorkflowPermissions": "read",
    }
    assert single(rendered, REPOSITORY).urn in permissions.dependencies


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_only_the_owner_of_the_repository_sets_it(plan: PlanOf, stack: str) -> None:
    assert plan(stack).of_type(WORKFLOW_PERMISSIONS) == []


def test_squash_commits_take_the_checked_pull_request_title(plan: PlanOf) -> None:
    repository = single(plan("prod"), REPOSITORY)
    assert repository.inputs["allowSquashMerge"] is True
    assert repository.inputs["squashMergeCommitTitle"] == "PR_TITLE"
    assert repository.inputs["squashMergeCommitMessage"] == "PR_BODY"
    # Linear history on main: no merge commits; rebase only to promote develop into main,
    # whose every commit pr-title.yml lints.
    assert repository.inputs["allowMergeCommit"] is False
    assert repository.inputs["allowRebaseMerge"] is True


def test_feature_pull_requests_into_develop_are_squashed(plan: PlanOf) -> None:
    ruleset = single(plan("prod"), RULESET, "-protect-develop")
    assert ruleset.inputs["rules"]["pullRequest"]["allowedMergeMethods"] == ["squash"]


def test_prod_previews_wait_for_a_reviewer_who_did_not_push(plan: PlanOf) -> None:
    rendered = plan("prod")
    preview = _environment(rendered, "prod-preview")
    deploy = _environment(rendered, "prod")
    assert preview.inputs["reviewers"] == deploy.inputs["reviewers"]
    (reviewers,) = preview.inputs["reviewers"]
    assert len(reviewers["users"]) == 2
    assert preview.inputs["preventSelfReview"] is True
    assert preview.inputs["canAdminsBypass"] is False
    # Still any branch: pull requests are what previews are for.
    assert "deploymentBranchPolicy" not in preview.inputs


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_other_previews_run_without_approval(plan: PlanOf, stack: str) -> None:
    preview = _environment(plan(stack), f"{stack}-preview")
    assert "reviewers" not in preview.inputs
    assert preview.inputs["canAdminsBypass"] is True
