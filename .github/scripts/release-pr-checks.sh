#!/usr/bin/env bash
# Run required checks on the checked-out commit and report each as a commit status under
# its check name, so branch protection sees them on a pull request whose pushes start no
# workflow (release-please's, made with GITHUB_TOKEN).
#
# Usage: CHECKS="lint test ..." GH_TOKEN=... RUN_URL=... .github/scripts/release-pr-checks.sh <base-ref>
# Exit status: 0 when every check passed, 1 otherwise (every check still runs and reports).
set -uo pipefail

base=${1:?usage: CHECKS="<check>..." release-pr-checks.sh <base-ref>}
read -ra checks <<<"${CHECKS:?CHECKS names the checks to run}"
repo=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}
run_url=${RUN_URL:-}
sha=$(git rev-parse HEAD)

# The same commands as the pull-request.yml (and pr-title.yml) jobs of the same names.
run_check() {
    case $1 in
    lint) ./taskw lint ;;
    typecheck) ./taskw typecheck ;;
    test) ./taskw validate && ./taskw test ;;
    offline-diff) ./taskw validate && .github/scripts/offline-diff.sh "$base" >>"${GITHUB_STEP_SUMMARY:-/dev/null}" ;;
    # pr-title.yml's two jobs: release-please commits with its pull request's title.
    pr-title) .github/scripts/conventional-commits.sh title "$(git log -1 --format=%s)" ;;
    commits) .github/scripts/conventional-commits.sh commits "$base" HEAD ;;
    *)
        echo "release-pr-checks: no command for check '$1'" >&2
        return 2
        ;;
    esac
}

failed=0
for check in "${checks[@]}"; do
    echo "::group::$check"
    if run_check "$check"; then
        state=success description="passed on the release branch"
    else
        state=failure description="failed on the release branch"
        failed=1
    fi
    echo "::endgroup::"
    gh api --method POST "repos/$repo/statuses/$sha" --silent \
        -f state="$state" -f context="$check" -f description="$description" -f target_url="$run_url"
    echo "$check: $state"
done
exit "$failed"
