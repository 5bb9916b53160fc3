#!/usr/bin/env bash
# Post a failure card to a Microsoft Teams channel through an incoming webhook (a Teams
# Workflows "post to a channel when a webhook request is received" URL, or a classic
# incoming-webhook connector). Used by the notify-teams composite action (GitHub) and by
# azure-pipelines.yml.
#
# Environment: WEBHOOK_URL (a secret: never printed, and handed to curl on standard input,
# so it is not in the process list either), TITLE, FAILED (what failed), REF, SHA, ACTOR,
# RUN_URL. An unset WEBHOOK_URL is a warning, not a failure: notifications are optional.
set -euo pipefail

if [ -z "${WEBHOOK_URL:-}" ]; then
    echo "notify-teams: TEAMS_WEBHOOK_URL is not set: no Teams notification sent" >&2
    exit 0
fi

card=$(jq -n \
    --arg title "${TITLE:?}" --arg failed "${FAILED:-see the run}" --arg ref "${REF:-}" \
    --arg sha "${SHA:0:8}" --arg actor "${ACTOR:-}" --arg url "${RUN_URL:?}" '{
      type: "message",
      attachments: [{
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          body: [
            {type: "TextBlock", text: $title, weight: "Bolder", size: "Medium", color: "Attention", wrap: true},
            {type: "FactSet", facts: [
              {title: "Failed", value: $failed},
              {title: "Ref", value: ($ref + " @ " + $sha)},
              {title: "Triggered by", value: $actor}
            ]}
          ],
          actions: [{type: "Action.OpenUrl", title: "Open the run", url: $url}]
        }
      }]
    }')

if printf 'url = "%s"\n' "$WEBHOOK_URL" |
    curl --config - --silent --show-error --fail --max-time 30 \
        --header 'Content-Type: application/json' --data "$card" --output /dev/null; then
    echo "notify-teams: Teams notified"
else
    # A broken webhook must not hide the failure being reported: warn, keep the run's status.
    echo "notify-teams: the Teams webhook refused the notification" >&2
fi
