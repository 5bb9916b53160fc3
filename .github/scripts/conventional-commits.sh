#!/usr/bin/env bash
# Conventional Commits (https://www.conventionalcommits.org/en/v1.0.0/), the messages
# release-please turns into the next SemVer version (feat: minor, fix: patch, `!` or a
# BREAKING CHANGE: footer: major). One pattern for both places a message comes from:
#
#   conventional-commits.sh title "<pull-request title>"
#       a squash merge's commit title (the repository takes the pull-request title:
#       squash_merge_commit_title PR_TITLE);
#   conventional-commits.sh commits <base> <head>
#       every commit a rebase merge would put on the base as it is (pull requests into
#       main: promotions of develop). Merge commits are skipped: linear history refuses them.
#
# Exit status: 0 all conventional, 1 not (each offender named), 2 bad usage.
set -euo pipefail

pattern='^(feat|fix|perf|refactor|revert|docs|test|build|ci|chore|style|deps)(\([a-z0-9._/-]+\))?!?: .+'
hint="write e.g. 'feat(jobs): nightly medallion run', or 'fix!: ...' for a breaking change"

case ${1:-} in
title)
    title=${2?usage: conventional-commits.sh title "<title>"}
    if [[ ! $title =~ $pattern ]]; then
        echo "::error::'$title' is not a Conventional Commit title: $hint"
        exit 1
    fi
    echo "Conventional Commit title: $title"
    ;;
commits)
    base=${2:?usage: conventional-commits.sh commits <base> <head>}
    head=${3:?usage: conventional-commits.sh commits <base> <head>}
    failed=0
    count=0
    while IFS=' ' read -r sha subject; do
        count=$((count + 1))
        if [[ ! $subject =~ $pattern ]]; then
            echo "::error::commit ${sha:0:7} '$subject' is not a Conventional Commit: $hint (or squash-merge this pull request)"
            failed=1
        fi
    done < <(git log --no-merges --format='%H %s' "$base..$head")
    [ "$failed" = 0 ] && echo "$count commits, all Conventional Commits"
    exit "$failed"
    ;;
*)
    echo "usage: conventional-commits.sh title <title> | commits <base> <head>" >&2
    exit 2
    ;;
esac
