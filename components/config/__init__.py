"""The typed stack config: what a platform team writes in ``Pulumi.<stack>.yaml``.

Plain data in, plain data out: this package knows nothing of Pulumi resources. It turns
the ``dataops:*`` keys of one stack into a frozen, validated :class:`StackConfig`, or
raises :class:`ConfigError` with one line that names the stack file and the key path
(``Pulumi.prod.yaml: dataops:identity.groups[2].members[0]: 'bob@' is not an email``).

YAML keys are camelCase (the Pulumi convention); Python fields are snake_case.
Secrets are never fields of the model: they are the top-level keys of
:class:`~components.secret_keys.SecretKey`, which must be set with
``pulumi config set --secret`` and are read as ``Output.secret`` by the program. The
model only records whether each one is set.

By concern: ``types`` (value types and building blocks), ``azure``, ``unity_catalog``,
``identity``, ``source_control``, ``jobs`` (the sections), ``stack`` (the whole model and
what it derives), ``rules`` (the cross-field rules, one named function each, in one list)
and ``load`` (one stack's values to a model, one line per error; rules across stacks).
"""

from components.config.azure import (
    AzureConfig,
    DatabricksConfig,
    EncryptionConfig,
    HardeningConfig,
    KeyVaultConfig,
    NetworkConfig,
    PrivateLinkConfig,
    ServerlessConfig,
    StorageConfig,
    WorkspaceConfig,
)
from components.config.identity import (
    Entitlements,
    GroupConfig,
    IdentityConfig,
    ServicePrincipalConfig,
    ServicePrincipalsConfig,
    UserConfig,
)
from components.config.jobs import (
    ClusterConfig,
    GitSyncJobConfig,
    IntegrationTestJobConfig,
    JobsConfig,
    MedallionJobConfig,
    NotificationsConfig,
    ScheduleConfig,
)
from components.config.load import AnyStackConfig, check_shared_singletons, load_stack_config
from components.config.observability import (
    LogAnalyticsConfig,
    ObservabilityConfig,
    RunHistoryConfig,
    WarehouseConfig,
)
from components.config.rules import CROSS_FIELD_RULES, CrossFieldRule
from components.config.sandbox import (
    SANDBOX_SECRET_KEYS,
    SandboxClusterConfig,
    SandboxSettings,
    SandboxStackConfig,
)
from components.config.source_control import (
    AzureDevopsConfig,
    BranchProtectionConfig,
    GitFoldersConfig,
    GithubConfig,
    SourceControlConfig,
)
from components.config.stack import StackConfig
from components.config.types import (
    FOREIGN_NAMESPACES,
    MEDALLION_SCHEMAS,
    PROJECT,
    ConfigError,
    _camel,
)
from components.config.unity_catalog import (
    CatalogConfig,
    GrantConfig,
    MetastoreConfig,
    Privilege,
    SchemaConfig,
    UnityCatalogConfig,
)
from components.secret_keys import SECRET_KEYS, SecretKey
from components.tiers import TIERS, Tier, TierTraits

__all__ = [
    "CROSS_FIELD_RULES",
    "FOREIGN_NAMESPACES",
    "MEDALLION_SCHEMAS",
    "PROJECT",
    "SANDBOX_SECRET_KEYS",
    "SECRET_KEYS",
    "TIERS",
    "AnyStackConfig",
    "AzureConfig",
    "AzureDevopsConfig",
    "BranchProtectionConfig",
    "CatalogConfig",
    "ClusterConfig",
    "ConfigError",
    "CrossFieldRule",
    "DatabricksConfig",
    "EncryptionConfig",
    "Entitlements",
    "GitFoldersConfig",
    "GitSyncJobConfig",
    "GithubConfig",
    "GrantConfig",
    "GroupConfig",
    "HardeningConfig",
    "IdentityConfig",
    "IntegrationTestJobConfig",
    "JobsConfig",
    "KeyVaultConfig",
    "LogAnalyticsConfig",
    "MedallionJobConfig",
    "MetastoreConfig",
    "NetworkConfig",
    "NotificationsConfig",
    "ObservabilityConfig",
    "PrivateLinkConfig",
    "Privilege",
    "RunHistoryConfig",
    "SandboxClusterConfig",
    "SandboxSettings",
    "SandboxStackConfig",
    "ScheduleConfig",
    "SchemaConfig",
    "SecretKey",
    "ServerlessConfig",
    "ServicePrincipalConfig",
    "ServicePrincipalsConfig",
    "SourceControlConfig",
    "StackConfig",
    "StorageConfig",
    "Tier",
    "TierTraits",
    "UnityCatalogConfig",
    "UserConfig",
    "WarehouseConfig",
    "WorkspaceConfig",
    "_camel",
    "check_shared_singletons",
    "load_stack_config",
]
