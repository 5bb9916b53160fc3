#!/usr/bin/env bash
# The pull-request comment of the offline engine: the desired-state diff of every stack
# (each Pulumi.<stack>.yaml in the checkout) against a base git ref, as one Markdown
# document on standard output. The first line is a hidden marker that lets CI find and
# update its own comment instead of adding a new one per push.
#
# Usage: .github/scripts/offline-diff.sh <base-ref>    (e.g. the pull request's base sha)
# Exit status: 0 when every stack rendered (differences are not failures: reviewing them
# is the point); 1 when a stack could not be rendered, or the base is not a commit of this
# clone, which the comment says too (the comment is never empty).
set -euo pipefail

base=${1:?usage: offline-diff.sh <base-ref>}
python=${PYTHON:-.venv/bin/python}
marker='<!-- dataops:offline-diff -->'
if ! short=$(git rev-parse --verify --quiet --short "$base^{commit}"); then
    echo "$marker"
    echo "## Offline desired-state diff: base \`$base\` not found"
    echo
    echo "\`$base\` is not a commit of this clone, so no stack was rendered. Fetch it"
    echo "(\`actions/checkout\` with \`fetch-depth: 0\`, or \`git fetch origin <branch>\`) and run again."
    echo "offline-diff: base '$base' is not a commit of this clone (shallow clone, or a branch not fetched?)" >&2
    exit 1
fi

echo "$marker"
echo "## Offline desired-state diff against \`$short\`"
echo
echo "Rendered by \`python -m dataops diff <stack> --against $short\` under Pulumi mocks:"
echo "what this change does to each stack's desired state, with no cloud credential."
echo "The \`pulumi preview\` comments show the cloud's view."
echo

failed=0
shopt -s nullglob
for file in Pulumi.*.yaml; do
    stack=${file#Pulumi.}
    stack=${stack%.yaml}
    if output=$("$python" -m dataops diff "$stack" --against "$base" --markdown 2>&1); then
        printf '%s\n\n' "$output"
    else
        failed=1
        # shellcheck disable=SC2016  # the backticks are Markdown, not command substitution
        printf '### `%s`: could not be rendered\n\n```text\n%s\n```\n\n' "$stack" "$output"
    fi
done
exit "$failed"
