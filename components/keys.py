"""Customer-managed keys for the workspace: one Key Vault key, and who may wrap with it.

The foundation calls these helpers between the vault and the workspace (the key and the
grant the workspace needs at creation) and after it (the grants to identities the
workspace creates). The resources are the foundation's children, so they read as part of
the Azure layer in a plan.

Databricks uses one key three ways (https://learn.microsoft.com/azure/databricks/security/keys/):
- managed services (notebooks, secrets, query results in the control plane): wrapped by
  the AzureDatabricks first-party application, which needs the grant *before* the
  workspace is created or updated with the key;
- managed disks of the clusters: a disk encryption set Databricks creates in the managed
  resource group, whose identity (``managedDiskIdentity``) is granted after;
- the DBFS root (the workspace's own storage account): its identity
  (``storageAccountIdentity``) exists once the workspace is prepared for encryption, and
  is granted after. A *new* workspace therefore takes two deploys, ``dbfsRoot: prepared``
  then ``encrypted`` (README, "Customer-managed keys").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, databricks, keyvault

from components.config import EncryptionConfig
from components.naming import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, Names, role_definition_id

# Databricks takes RSA keys (2048, 3072 or 4096 bits) for all three uses:
# https://learn.microsoft.com/azure/databricks/security/keys/cmk-managed-services-azure/customer-managed-key-managed-services-azure
KEY_OPERATIONS = (
    keyvault.JsonWebKeyOperation.WRAP_KEY,
    keyvault.JsonWebKeyOperation.UNWRAP_KEY,
    keyvault.JsonWebKeyOperation.ENCRYPT,
    keyvault.JsonWebKeyOperation.DECRYPT,
)


@dataclass(frozen=True)
class WorkspaceKey:
    """The key as the workspace's encryption settings name it."""

    key: keyvault.Key
    name: pulumi.Output[str]
    version: pulumi.Output[str]
    vault_uri: pulumi.Input[str]
    # The grant the workspace waits for (managed services are wrapped at creation).
    ready: authorization.RoleAssignment


def workspace_key(
    name: str,
    settings: EncryptionConfig,
    names: Names,
    subscription_id: str,
    resource_group_name: pulumi.Input[str],
    vault: keyvault.Vault,
    vault_uri: pulumi.Input[str],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    key_opts: pulumi.ResourceOptions,
) -> WorkspaceKey:
    """The key, its rotation policy, and the AzureDatabricks application's grant on it.

    ``key_opts`` protect the key where the tier protects data: without it, the workspace's
    managed services, disks and DBFS root cannot be read.
    """
    rotate_after = f"P{settings.rotation_days}D"
    key = keyvault.Key(
        f"{name}-cmk",
        key_name=names.encryption_key,
        vault_name=vault.name,
        resource_group_name=resource_group_name,
        properties=keyvault.KeyPropertiesArgs(
            kty=keyvault.JsonWebKeyType.RSA,
            key_size=settings.key_size,
            key_ops=list(KEY_OPERATIONS),
            # A new version on schedule; managed disks follow it on their own
            # (rotationToLatestKeyVersionEnabled), the others on the next deploy.
            rotation_policy=keyvault.RotationPolicyArgs(
                attributes=keyvault.KeyRotationPolicyAttributesArgs(
                    expiry_time=f"P{settings.rotation_days * 2}D"
                ),
                lifetime_actions=[
                    keyvault.LifetimeActionArgs(
                        action=keyvault.ActionArgs(
                            type=keyvault.KeyRotationPolicyActionType.ROTATE
                        ),
                        trigger=keyvault.TriggerArgs(time_after_create=rotate_after),
                    ),
                    keyvault.LifetimeActionArgs(
                        action=keyvault.ActionArgs(
                            type=keyvault.KeyRotationPolicyActionType.NOTIFY
                        ),
                        trigger=keyvault.TriggerArgs(time_before_expiry="P30D"),
                    ),
                ],
            ),
        ),
        tags=dict(tags),
        opts=key_opts,
    )
    databricks_app = _crypto_grant(
        f"{name}-cmk-databricks",
        names,
        subscription_id,
        "azure-databricks",
        settings.databricks_object_id or "",
        key,
        "The AzureDatabricks application wraps the managed-services key",
        opts,
    )
    return WorkspaceKey(
        key=key,
        name=key.name,
        version=key.key_uri_with_version.apply(_version),
        vault_uri=vault_uri,
        ready=databricks_app,
    )


def workspace_identity_grants(
    name: str,
    names: Names,
    subscription_id: str,
    key: WorkspaceKey,
    workspace: databricks.Workspace,
    opts: pulumi.ResourceOptions,
) -> list[authorization.RoleAssignment]:
    """Grants to the identities the workspace creates: its DBFS storage, its disk set."""
    storage = workspace.storage_account_identity.apply(
        lambda identity: identity.principal_id if identity else ""
    )
    disks = workspace.managed_disk_identity.apply(
        lambda identity: identity.principal_id if identity else ""
    )
    return [
        _crypto_grant(
            f"{name}-cmk-dbfs",
            names,
            subscription_id,
            "workspace-storage",
            storage,
            key.key,
            "The workspace's DBFS root storage encrypts with the key",
            opts,
        ),
        _crypto_grant(
            f"{name}-cmk-disks",
            names,
            subscription_id,
            "disk-encryption-set",
            disks,
            key.key,
            "The clusters' disk encryption set encrypts managed disks with the key",
            opts,
        ),
    ]


def workspace_encryption(
    key: WorkspaceKey | None,
) -> databricks.WorkspacePropertiesEncryptionArgs | None:
    """Managed services and managed disks encrypted with the key (DBFS: parameters)."""
    if key is None:
        return None
    return databricks.WorkspacePropertiesEncryptionArgs(
        entities=databricks.EncryptionEntitiesDefinitionArgs(
            managed_services=databricks.EncryptionV2Args(
                key_source=databricks.EncryptionKeySource.MICROSOFT_KEYVAULT,
                key_vault_properties=databricks.EncryptionV2KeyVaultPropertiesArgs(
                    key_name=key.name, key_version=key.version, key_vault_uri=key.vault_uri
                ),
            ),
            managed_disk=databricks.ManagedDiskEncryptionArgs(
                key_source=databricks.EncryptionKeySource.MICROSOFT_KEYVAULT,
                key_vault_properties=databricks.ManagedDiskEncryptionKeyVaultPropertiesArgs(
                    key_name=key.name, key_version=key.version, key_vault_uri=key.vault_uri
                ),
                # Disks follow the key's rotation policy without a redeploy.
                rotation_to_latest_key_version_enabled=True,
            ),
        )
    )


def _crypto_grant(
    resource_name: str,
    names: Names,
    subscription_id: str,
    meaning: str,
    principal_id: pulumi.Input[str],
    key: keyvault.Key,
    description: str,
    opts: pulumi.ResourceOptions,
) -> authorization.RoleAssignment:
    # Scoped to the key, not the vault: the identity can use this key and no other.
    return authorization.RoleAssignment(
        resource_name,
        role_assignment_name=names.role_assignment(
            meaning, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
        ),
        principal_id=principal_id,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        role_definition_id=role_definition_id(
            subscription_id, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
        ),
        scope=key.id,
        description=description,
        # A GUID name from its meaning: a replacement must delete before it creates.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
    )


def _version(key_uri_with_version: str | None) -> str:
    # https://<vault>.vault.azure.net/keys/<name>/<version>
    return (key_uri_with_version or "").rstrip("/").rsplit("/", 1)[-1]
