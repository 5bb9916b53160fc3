"""A fake `gh` CLI for the workflow tests: the calls the delivery scripts make, on a JSON state.

Installed on PATH as `gh` by tests/workflow_runner.py. The state file (FAKE_GH_STATE)
holds the repository as the scripts see it and records every write:

    {"repo": "acme/dataops", "roles": {"alice": "admin"},
     "prs": {"7": {"headRefName": ..., "headRefOid": ..., "baseRefName": "main",
                   "state": "OPEN", "isCrossRepository": false, "title": ...}},
     "comments": {"7": [{"id": 1, "user": {"login": ...}, "body": ...}]},
     "fail": {"merge": "<stderr>", "workflow run": "<stderr>"},
     "merges": [], "dispatches": [], "reactions": [], "statuses": [], "calls": []}

Any call it does not know exits 64, so a script that starts calling something new fails
its test instead of passing against a fake that said yes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BOT = "github-actions[bot]"


def _flags(args: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Positional arguments and --flag/-f values (repeatable), as gh parses them."""
    positional: list[str] = []
    flags: dict[str, list[str]] = {}
    index = 0
    boolean = {"--silent", "--paginate", "--squash"}
    while index < len(args):
        arg = args[index]
        if arg in boolean:
            flags.setdefault(arg, []).append("true")
        elif arg.startswith("-"):
            flags.setdefault(arg, []).append(args[index + 1])
            index += 1
        else:
            positional.append(arg)
        index += 1
    return positional, flags


def _fields(flags: dict[str, list[str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for raw in flags.get("-f", []) + flags.get("-F", []):
        key, _, value = raw.partition("=")
        if value.startswith("@"):
            value = Path(value[1:]).read_text(encoding="utf-8")
        fields[key] = value
    return fields


def _fail(message: str, status: int = 1) -> int:
    print(message, file=sys.stderr)
    return status


def main(argv: list[str]) -> int:
    path = Path(os.environ["FAKE_GH_STATE"])
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    state["calls"].append(argv)
    try:
        return _dispatch(state, argv)
    finally:
        path.write_text(json.dumps(state, indent=2), encoding="utf-8")


def _dispatch(state: dict[str, Any], argv: list[str]) -> int:
    repo = state["repo"]
    positional, flags = _flags(argv)
    if flags.get("--repo", [repo]) != [repo]:
        return _fail(f"fake gh: unexpected --repo {flags['--repo']}", 64)
    command = positional[:2]
    if command == ["pr", "view"]:
        pr = state["prs"][positional[2]]
        fields = flags["--json"][0].split(",")
        print(json.dumps({field: pr[field] for field in fields}))
        return 0
    if command == ["pr", "comment"]:
        if flags.get("--body-file") != ["-"]:
            return _fail("fake gh: comments are expected on standard input", 64)
        return _comment(state, positional[2], sys.stdin.read())
    if command == ["pr", "merge"]:
        pr = state["prs"][positional[2]]
        if "merge" in state["fail"]:
            return _fail(state["fail"]["merge"])
        expected = flags.get("--match-head-commit", [""])[0]
        if expected != pr["headRefOid"]:
            return _fail("GraphQL: Head branch was modified. Review and try the merge again.")
        pr["state"] = "MERGED"
        state["merges"].append(
            {"pr": positional[2], "sha": expected, "squash": "--squash" in flags}
        )
        return 0
    if command == ["workflow", "run"]:
        if "workflow run" in state["fail"]:
            return _fail(state["fail"]["workflow run"])
        inputs = dict(raw.split("=", 1) for raw in flags.get("-f", []))
        state["dispatches"].append(
            {"workflow": positional[2], "ref": flags["--ref"][0], "inputs": inputs}
        )
        return 0
    if positional[:1] == ["api"]:
        return _api(state, positional[1], flags)
    return _fail(f"fake gh: unknown command {argv}", 64)


def _comment(state: dict[str, Any], pr: str, body: str) -> int:
    comments = state["comments"].setdefault(pr, [])
    next_id = 1 + max((c["id"] for cs in state["comments"].values() for c in cs), default=100)
    comments.append({"id": next_id, "user": {"login": BOT}, "body": body})
    return 0


def _api(state: dict[str, Any], endpoint: str, flags: dict[str, list[str]]) -> int:
    repo = state["repo"]
    method = flags.get("--method", ["GET"])[0]
    parts = endpoint.removeprefix(f"repos/{repo}/").split("/")
    fields = _fields(flags)
    if method == "GET" and parts[0] == "collaborators" and parts[2] == "permission":
        role = state["roles"].get(parts[1])
        if role is None:
            return _fail("gh: Not Found (HTTP 404)")
        answer: Any = {"permission": role, "role_name": role}
    elif method == "POST" and parts[:2] == ["issues", "comments"] and parts[3] == "reactions":
        state["reactions"].append({"comment": int(parts[2]), "content": fields["content"]})
        return 0
    elif method == "GET" and parts[0] == "issues" and parts[2] == "comments":
        answer = state["comments"].get(parts[1], [])
    elif method == "POST" and parts[0] == "issues" and parts[2] == "comments":
        return _comment(state, parts[1], fields["body"])
    elif method == "PATCH" and parts[:2] == ["issues", "comments"]:
        for comments in state["comments"].values():
            for comment in comments:
                if comment["id"] == int(parts[2]):
                    comment["body"] = fields["body"]
                    return 0
        return _fail("gh: Not Found (HTTP 404)")
    elif method == "POST" and parts[0] == "statuses":
        state["statuses"].append({"sha": parts[1], **fields})
        return 0
    else:
        return _fail(f"fake gh: unknown api call {method} {endpoint}", 64)
    if "--jq" in flags:
        result = subprocess.run(
            ["jq", "-r", flags["--jq"][0]],
            input=json.dumps(answer),
            capture_output=True,
            text=True,
            check=True,
        )
        sys.stdout.write(result.stdout)
    elif "--silent" not in flags:
        print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
