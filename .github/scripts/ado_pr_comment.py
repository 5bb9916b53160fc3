"""Create or update one Azure DevOps pull-request comment, found by its marker line.

The Azure Pipelines twin of sticky-comment.sh: the body file's first line is a hidden
marker (``<!-- dataops:offline-diff -->``); the thread whose first comment starts with it
is updated, or a new thread is opened, so each push edits the same comment.

    SYSTEM_ACCESSTOKEN=$(System.AccessToken) python .github/scripts/ado_pr_comment.py FILE

Reads the predefined pipeline variables SYSTEM_COLLECTIONURI, SYSTEM_TEAMPROJECT,
BUILD_REPOSITORY_ID and SYSTEM_PULLREQUEST_PULLREQUESTID; the build service needs
"Contribute to pull requests" on the repository. Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

API_VERSION = "7.1"
# Azure DevOps caps a comment at 150,000 characters; stay well below.
LIMIT = 100_000


def existing_comment(threads: Sequence[Mapping[str, Any]], marker: str) -> tuple[int, int] | None:
    """(thread id, comment id) of the first live thread whose first comment has the marker."""
    for thread in threads:
        comments = thread.get("comments") or []
        if thread.get("isDeleted") or not comments:
            continue
        first = comments[0]
        if str(first.get("content") or "").startswith(marker):
            return int(thread["id"]), int(first["id"])
    return None


def _request(method: str, url: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def main(argv: Sequence[str], env: Mapping[str, str]) -> int:
    if len(argv) != 2:
        print("usage: ado_pr_comment.py <body-file>", file=sys.stderr)
        return 2
    text = Path(argv[1]).read_text(encoding="utf-8")
    marker = text.splitlines()[0] if text else ""
    if not (marker.startswith("<!--") and marker.endswith("-->")):
        print(
            "ado_pr_comment: the body's first line must be an HTML comment marker", file=sys.stderr
        )
        return 2
    if len(text) > LIMIT:
        text = text[:LIMIT] + "\n\n_Truncated: the full text is in the pipeline log._\n"
    try:
        token = env["SYSTEM_ACCESSTOKEN"]
        base = (
            f"{env['SYSTEM_COLLECTIONURI'].rstrip('/')}/"
            f"{urllib.parse.quote(env['SYSTEM_TEAMPROJECT'])}/_apis/git/repositories/"
            f"{env['BUILD_REPOSITORY_ID']}/pullRequests/"
            f"{env['SYSTEM_PULLREQUEST_PULLREQUESTID']}/threads"
        )
    except KeyError as missing:
        print(f"ado_pr_comment: {missing.args[0]} is not set (not a PR build?)", file=sys.stderr)
        return 2
    threads = _request("GET", f"{base}?api-version={API_VERSION}", token)["value"]
    found = existing_comment(threads, marker)
    if found:
        thread_id, comment_id = found
        url = f"{base}/{thread_id}/comments/{comment_id}?api-version={API_VERSION}"
        _request("PATCH", url, token, {"content": text})
        print(f"updated pull-request thread {thread_id}")
    else:
        body = {
            "comments": [{"parentCommentId": 0, "content": text, "commentType": 1}],
            "status": 4,
        }
        thread = _request("POST", f"{base}?api-version={API_VERSION}", token, body)
        print(f"opened pull-request thread {thread['id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv, os.environ))
