"""Post a delivery failure to Microsoft Teams: the one card builder of GitHub and Azure DevOps.

The notify-teams composite action (GitHub Actions) and azure-pipelines.yml both run it,
with the values of their own run in the environment:

    WEBHOOK_URL  the Teams webhook (a secret): a Teams Workflows "post to a channel when a
                 webhook request is received" URL or a classic incoming-webhook connector.
                 Never printed, never on a command line. Unset or empty: a warning, exit 0
                 (notifications are optional).
    TITLE        first line of the card (required)
    RUN_URL      the failed run (required, http(s))
    STACK        the Pulumi stack the run deployed ("prod"); shown as <project>/<stack>
    ENVIRONMENT  the deploy environment (GitHub environment, Azure DevOps environment)
    VERSION      the release tag (vX.Y.Z); without one, pyproject.toml's version, marked
                 unreleased; REF is used when it is itself a release tag
    FAILED       what failed (job or stage names)
    REF, SHA, ACTOR  branch or tag, commit, who started the run

Every value is data: it goes into the card through json.dumps and into the request
through urllib, never through a shell, a curl config or a format string. Exit status: 0
posted (or no webhook configured, or the webhook refused it: a broken webhook must not
hide the failure being reported, so that is a warning); 2 bad input, nothing posted.

Standard library only: the GitHub notify job checks out .github/ and the root files only.
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXIT_OK, EXIT_BAD_INPUT = 0, 2
NOT_SET = "not set"
# A release tag as release-please writes it ("include-v-in-tag", no component:
# release-please-config.json) and README promises: v1.2.3, v1.2.3-rc.1.
RELEASE_TAG = re.compile(r"^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
# Card text is bounded: Teams refuses payloads over 28 KB
# (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using#rate-limiting-for-connectors).
MAX_VALUE = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadInputError(ValueError):
    """A value the card cannot be built or sent with; the message names the variable."""


def _clean(value: str) -> str:
    """One line of plain text: control characters (newlines included) become spaces."""
    text = _CONTROL.sub(" ", value).strip()
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(variable: str, value: str) -> str:
    """An absolute https URL (http only on loopback, for local fakes), or BadInputError.

    Refused: whitespace, quotes and control characters (what a config-file or header
    injection needs), credentials in the URL, and anything that is not a plain URL.
    """
    if not value:
        raise BadInputError(f"{variable} is not set")
    if re.search(r"[\s\"'\\<>`]|[\x00-\x1f\x7f]", value):
        raise BadInputError(f"{variable} is not a URL (it has spaces, quotes or controls)")
    parsed = urllib.parse.urlsplit(value)
    host = parsed.hostname or ""
    if parsed.scheme not in ("https", "http") or not host:
        raise BadInputError(f"{variable} must be an absolute https:// URL")
    if parsed.scheme == "http" and not _is_loopback(host):
        raise BadInputError(f"{variable} must use https:// (http:// only on a loopback address)")
    if parsed.username is not None or parsed.password is not None:
        raise BadInputError(f"{variable} must not carry credentials")
    try:
        _ = parsed.port
    except ValueError as error:
        raise BadInputError(f"{variable} has a bad port") from error
    return value


def project_name(root: Path = ROOT) -> str:
    """Pulumi.yaml's `name:` (the project the stacks belong to)."""
    match = re.search(
        r"^name:\s*['\"]?([A-Za-z0-9_.-]+)", (root / "Pulumi.yaml").read_text("utf-8"), re.M
    )
    return match.group(1) if match else "dataops"


def pyproject_version(root: Path = ROOT) -> str:
    with (root / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def version_label(version: str, ref: str, root: Path = ROOT) -> str:
    """The release tag when there is one; otherwise the version the next release starts from."""
    for candidate in (version, ref):
        if RELEASE_TAG.match(candidate):
            return candidate
    if version:
        raise BadInputError(f"VERSION {version!r} is not a release tag (vX.Y.Z)")
    return f"{pyproject_version(root)} (pyproject.toml, unreleased)"


def card(env: Mapping[str, str], root: Path = ROOT) -> dict[str, Any]:
    """The Teams message: one Adaptive Card 1.4 (the version Teams renders in full,
    https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-reference#adaptive-card).
    """

    def value(name: str, default: str = NOT_SET) -> str:
        text = _clean(env.get(name, ""))
        return text or default

    title = value("TITLE", "")
    if not title:
        raise BadInputError("TITLE is not set")
    run_url = checked_url("RUN_URL", env.get("RUN_URL", ""))
    stack = value("STACK", "")
    ref = value("REF", "")
    sha = value("SHA", "")
    facts = [
        ("Stack", f"{project_name(root)}/{stack}" if stack else NOT_SET),
        ("Environment", value("ENVIRONMENT")),
        ("Version", version_label(_clean(env.get("VERSION", "")), ref, root)),
        ("Commit", f"{ref or NOT_SET} @ {sha[:8] if sha else NOT_SET}"),
        ("Failed", value("FAILED", "see the run")),
        ("Triggered by", value("ACTOR")),
    ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": title,
                            "weight": "Bolder",
                            "size": "Medium",
                            "color": "Attention",
                            "wrap": True,
                        },
                        {
                            "type": "FactSet",
                            "facts": [{"title": k, "value": v} for k, v in facts],
                        },
                    ],
                    "actions": [
                        {"type": "Action.OpenUrl", "title": "Open the run", "url": run_url}
                    ],
                },
            }
        ],
    }


def post(url: str, message: dict[str, Any]) -> str | None:
    """POST the message; None when accepted, else a reason that does not contain the URL."""
    request = urllib.request.Request(
        url,
        data=json.dumps(message).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        return type(reason).__name__
    return None


def main(env: Mapping[str, str], root: Path = ROOT) -> int:
    webhook = env.get("WEBHOOK_URL", "")
    if not webhook:
        print(
            "notify-teams: TEAMS_WEBHOOK_URL is not set: no Teams notification sent",
            file=sys.stderr,
        )
        return EXIT_OK
    try:
        url = checked_url("WEBHOOK_URL", webhook)
        message = card(env, root)
    except BadInputError as error:
        print(f"notify-teams: {error}; nothing sent", file=sys.stderr)
        return EXIT_BAD_INPUT
    refused = post(url, message)
    if refused:
        print(
            f"notify-teams: the Teams webhook refused the notification ({refused})", file=sys.stderr
        )
    else:
        print("notify-teams: Teams notified")
    return EXIT_OK


if __name__ == "__main__":
    import os

    sys.exit(main(os.environ))
