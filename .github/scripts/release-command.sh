#!/usr/bin/env bash
# The `/release` fast-track (ChatOps), both ends of it:
#
#   release-command.sh start    release-command.yml, on a `/release` comment: answer it,
#                               merge the release pull request at the reviewed head commit,
#                               dispatch delivery.yml on main with the pull request's number.
#   release-command.sh report   delivery.yml's last job (always()): tell the pull request
#                               how the release ended, with the link to the run.
#
# Every answer is a pull-request comment (the design's three: "Fast-Track Release
# Initialized", "Release Complete", "Fast-Track Release Failed ... check the logs"), and a
# refusal is answered too. Comment bodies go to `gh` on standard input, never on its
# command line.
#
# Environment (start): GH_TOKEN, REPO (owner/name), PR_NUMBER, COMMENTER, COMMENT_ID,
#   BODY (the comment), RUN_URL (this run), MAIN (default main).
# Environment (report): GH_TOKEN, REPO, PR_NUMBER (delivery's release-pr input), RUN_URL,
#   RELEASE_CREATED, TAG, STAGING_RESULT, PROD_RESULT (needs.<job>.result).
# Exit status: 0 done (or not a /release comment; report: whatever it reported), 1 start
# refused or failed (after saying so on the pull request), 2 bad environment.
set -euo pipefail

die() {
    echo "release-command: $*" >&2
    exit 2
}

repo=${REPO:?REPO is not set}
pr=${PR_NUMBER:?PR_NUMBER is not set}
run_url=${RUN_URL:?RUN_URL is not set}
main=${MAIN:-main}
[[ $repo =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "REPO '$repo' is not owner/name"
[[ $pr =~ ^[1-9][0-9]*$ ]] || die "PR_NUMBER '$pr' is not a pull-request number"
[[ $run_url =~ ^https?://[^[:space:]]+$ ]] || die "RUN_URL is not a URL"

comment() {
    # $1: the body. Standard input, so no part of it is ever read as an option.
    printf '%s\n' "$1" | gh pr comment "$pr" --repo "$repo" --body-file -
}

failed() {
    # $1: what went wrong (one sentence). The design's failure message, with the run.
    comment "❌ **Fast-Track Release Failed**: $1 Check the logs: $run_url"
    echo "::error::$1"
}

start() {
    local commenter=${COMMENTER:?COMMENTER is not set} body=${BODY:-}
    local command role view head head_sha base state cross title
    command=$(printf '%s\n' "$body" | head -n 1 | tr -d '[:space:]')
    if [ "$command" != "/release" ]; then
        echo "Not a /release command; nothing to do."
        return 0
    fi
    # The role on this repository, from the collaborators API: author_association (OWNER,
    # MEMBER, COLLABORATOR) says nothing about it. A non-collaborator is a 404: no role.
    # https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user
    role=$(gh api "repos/$repo/collaborators/$commenter/permission" --jq .role_name 2>/dev/null) || role=""
    case $role in
    admin | maintain) echo "@$commenter is a repository $role" ;;
    *)
        comment "@$commenter \`/release\` is for repository maintainers and admins (your role: ${role:-none}); nothing was merged."
        echo "::error::@$commenter (${role:-none}) may not release"
        exit 1
        ;;
    esac

    # The open release pull request of release-please: its branch in this repository (a
    # fork may name a branch release-please--… too, so the name alone proves nothing),
    # into main. The head commit read here is the one merged, or nothing is.
    view=$(gh pr view "$pr" --repo "$repo" --json headRefName,headRefOid,baseRefName,state,isCrossRepository,title)
    head=$(jq -r .headRefName <<<"$view")
    head_sha=$(jq -r .headRefOid <<<"$view")
    base=$(jq -r .baseRefName <<<"$view")
    state=$(jq -r .state <<<"$view")
    cross=$(jq -r .isCrossRepository <<<"$view")
    title=$(jq -r .title <<<"$view")
    if [[ $head != release-please--* || $cross != false || $base != "$main" || $state != OPEN ]]; then
        local from="this repository"
        [ "$cross" = false ] || from="a fork"
        comment "@$commenter \`/release\` works on the open release pull request (release-please's branch in this repository, into \`$main\`); this one is \`$head\` from $from into \`$base\` ($state). Nothing was merged."
        echo "::error::not the open release pull request"
        exit 1
    fi
    [[ $head_sha =~ ^[0-9a-f]{40}$ ]] || die "head commit '$head_sha' is not a commit id"

    gh api --method POST "repos/$repo/issues/comments/${COMMENT_ID:?COMMENT_ID is not set}/reactions" \
        -f content=rocket --silent || echo "::warning::could not react to the comment"
    comment "🚀 **Fast-Track Release Initialized** by @$commenter: merging ${title} at \`${head_sha:0:7}\`, then \`delivery\` creates the release, deploys staging and, once the \`prod\` environment's reviewers approve, prod. This pull request hears back when prod is done. Run: $run_url"

    # --match-head-commit: GitHub refuses the merge if the branch moved after the check
    # above (https://cli.github.com/manual/gh_pr_merge). Branch protection still applies.
    local output
    if ! output=$(gh pr merge "$pr" --repo "$repo" --squash --match-head-commit "$head_sha" 2>&1); then
        printf '%s\n' "$output" >&2
        failed "could not merge at \`${head_sha:0:7}\` (approvals or checks missing, or the branch moved): $(printf '%s' "$output" | tail -n 1)."
        exit 1
    fi
    # A merge made with GITHUB_TOKEN starts no workflow; workflow_dispatch does
    # (https://docs.github.com/actions/security-for-github-actions/security-guides/automatic-token-authentication#using-the-github_token-in-a-workflow).
    if ! output=$(gh workflow run delivery.yml --repo "$repo" --ref "$main" -f "release-pr=$pr" 2>&1); then
        printf '%s\n' "$output" >&2
        failed "merged, but \`delivery\` could not be started on \`$main\`, so nothing is released or deployed: $(printf '%s' "$output" | tail -n 1). Start it with \`gh workflow run delivery.yml --ref $main -f release-pr=$pr\`."
        exit 1
    fi
    echo "merged #$pr at $head_sha and dispatched delivery on $main"
}

report() {
    local created=${RELEASE_CREATED:-} tag=${TAG:-} staging=${STAGING_RESULT:-} prod=${PROD_RESULT:-}
    if [ "$prod" = success ]; then
        [[ $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || die "TAG '$tag' is not a release tag"
        comment "✅ **Release Complete**: \`$tag\` is released and deployed to prod. Run: $run_url"
        return 0
    fi
    local why
    if [ "$staging" != success ]; then
        why="the staging deploy or its integration tests ended \`${staging:-not run}\`, so prod was not deployed."
    elif [ "$created" != true ]; then
        why="release-please created no release in this run (nothing to release, or another delivery run on \`$main\` released it first: its prod deploy is the one to follow), so this run deployed no prod."
    else
        why="the prod deploy of \`${tag:-the release}\` ended \`${prod:-not run}\`."
    fi
    # The run's own jobs already carry its status; this job only reports it.
    failed "$why"
}

case ${1:-} in
start) start ;;
report) report ;;
*) die "usage: release-command.sh start|report" ;;
esac
