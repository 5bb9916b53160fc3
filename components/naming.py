"""Deterministic names and ids shared by the layers (plain functions, no resources)."""

from __future__ import annotations

import uuid

# Built-in Azure role definition ids (the same in every tenant).
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"

_NAMESPACE = uuid.UUID("6b1f3c5e-2d8a-4b7f-9e41-0a5c7d3e9f12")


def role_definition_id(subscription_id: str, role_guid: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization"
        f"/roleDefinitions/{role_guid}"
    )


def stable_guid(*parts: str) -> str:
    """A GUID that is the same on every run for the same parts.

    Role assignment names must be GUIDs; a random one would make every preview show a
    replacement, so it is derived from what the assignment means.
    """
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))
