#!/usr/bin/env bash
# Create or update one pull-request comment, found by the hidden marker on the body's
# first line, so every push edits the same comment instead of adding another.
#
# Usage: GH_TOKEN=... .github/scripts/sticky-comment.sh <pr-number> <body-file>
# Needs the `gh` CLI (preinstalled on GitHub-hosted runners) and a token allowed to
# write pull-request comments (`pull-requests: write`).
set -euo pipefail

pr=${1:?usage: sticky-comment.sh <pr-number> <body-file>}
body_file=${2:?usage: sticky-comment.sh <pr-number> <body-file>}
repo=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}
marker=$(head -n 1 "$body_file")
case $marker in
'<!--'*'-->') ;;
*)
    echo "sticky-comment: the first line of $body_file must be an HTML comment marker" >&2
    exit 2
    ;;
esac

# GitHub refuses comment bodies over 65536 characters; keep the head, point to the log.
limit=60000
if [ "$(wc -c <"$body_file")" -gt "$limit" ]; then
    trimmed=$(mktemp)
    head -c "$limit" "$body_file" >"$trimmed"
    printf '\n\n_Truncated: the full text is in the job summary of this run._\n' >>"$trimmed"
    body_file=$trimmed
fi

existing=$(gh api --paginate "repos/$repo/issues/$pr/comments" \
    --jq ".[] | select(.user.login == \"github-actions[bot]\") | select(.body | startswith(\"$marker\")) | .id" |
    head -n 1)
if [ -n "$existing" ]; then
    gh api --method PATCH "repos/$repo/issues/comments/$existing" -F "body=@$body_file" --silent
    echo "updated comment $existing on #$pr"
else
    gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body_file" --silent
    echo "commented on #$pr"
fi
