"""The stack's secret config keys: the only ``dataops:*`` keys that are ``secure:`` values.

Standard library only (the policy pack reads it too). Every place that names a secret
key names a member of :class:`SecretKey`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class SecretKey(StrEnum):
    TEAMS_WEBHOOK_URL = "teamsWebhookUrl"
    GIT_SYNC_TOKEN = "gitSyncToken"
    GIT_CREDENTIAL_TOKEN = "gitCredentialToken"
    SLACK_WEBHOOK_URL = "slackWebhookUrl"


# What each secret is, as the config reference prints it.
SECRET_KEYS: Mapping[str, str] = {
    SecretKey.TEAMS_WEBHOOK_URL: "Microsoft Teams incoming-webhook URL for failure notifications",
    SecretKey.GIT_SYNC_TOKEN: (
        "token the git backup job pushes with (when not using the service principal)"
    ),
    SecretKey.GIT_CREDENTIAL_TOKEN: (
        "Git provider token (GitHub fine-grained token or Azure DevOps PAT, read access to the "
        "repository) of the deployer's Databricks git credential, which clones the Git folders"
    ),
    SecretKey.SLACK_WEBHOOK_URL: "Slack incoming-webhook URL for failure and stale-backup alerts",
}
