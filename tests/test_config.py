"""Stack config validation: every kind of bad input is one line naming file and key path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from plan_helpers import (
    SHIPPED_STACKS,
    Config,
    StackDocument,
    append_config,
    delete_config,
    set_config,
)

from components.config import ConfigError, StackConfig, Tier, check_shared_singletons
from dataops.stackfile import StackFileError

Validate = Callable[[str, StackDocument], StackConfig]
_set, _delete, _append = set_config, delete_config, append_config


# A ciphertext as `pulumi config set --secret` writes it (passphrase provider).
CIPHERTEXT = (
    "v1:Gxax31OLoS3D+X7b:Ln0sA6lQeuJl7PW1NWiFpTOTogKdJBOUmXJloaJa78YYrD5zQ/AWiQxRDpP5NSYRadnj9Q=="
)

# (case id, stack, change, the exact error line)
BAD_CONFIG: list[tuple[str, str, Callable[[Config], None], str]] = [
    (
        "unknown-top-level-key",
        "prod",
        _set("dataops:azrue", {}),
        "Pulumi.prod.yaml: dataops:azrue: unknown key 'azrue'; did you mean 'azure'?",
    ),
    (
        "unknown-nested-key",
        "dev",
        _set("dataops:azure.storage.skuu", "Standard_LRS"),
        "Pulumi.dev.yaml: dataops:azure.storage.skuu: unknown key 'skuu'; did you mean 'sku'?",
    ),
    (
        "unknown-key-without-close-match",
        "dev",
        _set("dataops:notifications.pager", "x"),
        "Pulumi.dev.yaml: dataops:notifications.pager: unknown key 'pager'; "
        "known keys: emails, teams, slack",
    ),
    (
        "missing-required-key",
        "prod",
        _delete("dataops:azure.tenantId"),
        "Pulumi.prod.yaml: dataops:azure.tenantId: is required",
    ),
    (
        "missing-required-section",
        "staging",
        _delete("dataops:identity"),
        "Pulumi.staging.yaml: dataops:identity: is required",
    ),
    (
        "wrong-type-integer",
        "dev",
        _set("dataops:jobs.cluster.numWorkers", "two"),
        "Pulumi.dev.yaml: dataops:jobs.cluster.numWorkers: 'two' is not an integer",
    ),
    (
        "wrong-type-list",
        "dev",
        _set("dataops:identity.groups", "admins"),
        "Pulumi.dev.yaml: dataops:identity.groups: 'admins' is not a list",
    ),
    (
        "wrong-type-boolean",
        "prod",
        _set("dataops:notifications.teams", "sometimes"),
        "Pulumi.prod.yaml: dataops:notifications.teams: 'sometimes' is not true or false",
    ),
    (
        "wrong-type-mapping",
        "dev",
        _set("dataops:jobs.cluster", ["Standard_DS3_v2"]),
        "Pulumi.dev.yaml: dataops:jobs.cluster: ['Standard_DS3_v2'] is not a mapping of keys "
        "to values",
    ),
    (
        "declared-project-type",
        "dev",
        _set("dataops:environment", 3),
        "Pulumi.dev.yaml: dataops:environment: 3 is not a string (declared in Pulumi.yaml)",
    ),
    (
        "not-an-environment",
        "prod",
        _set("dataops:environment", "production"),
        "Pulumi.prod.yaml: dataops:environment: 'production' is not one of 'dev', 'sandbox', "
        "'staging' or 'prod'",
    ),
    (
        "not-an-email",
        "prod",
        _set("dataops:identity.groups[2].members[0]", "bob@"),
        "Pulumi.prod.yaml: dataops:identity.groups[2].members[0]: 'bob@' is not an email",
    ),
    (
        "not-a-unity-catalog-identifier",
        "dev",
        _set("dataops:unityCatalog.catalogs[0].name", "Dev-Data"),
        "Pulumi.dev.yaml: dataops:unityCatalog.catalogs[0].name: 'Dev-Data' is not a Unity "
        "Catalog identifier (lower-case letters, digits and '_', not starting with a digit)",
    ),
    (
        "unix-cron-not-quartz",
        "prod",
        _set("dataops:jobs.gitSync.schedule.cron", "0 2 * * *"),
        "Pulumi.prod.yaml: dataops:jobs.gitSync.schedule.cron: '0 2 * * *' is not a Quartz cron "
        "expression (has 5 fields, Quartz cron needs 6 or 7); "
        "for example '0 0 2 * * ?' is daily at 02:00",
    ),
    (
        "quartz-hour-out-of-range",
        "prod",
        _set("dataops:jobs.gitSync.schedule.cron", "0 0 25 * * ?"),
        "Pulumi.prod.yaml: dataops:jobs.gitSync.schedule.cron: '0 0 25 * * ?' is not a Quartz "
        "cron expression (field hours '25' is not valid); "
        "for example '0 0 2 * * ?' is daily at 02:00",
    ),
    (
        "quartz-both-days-given",
        "prod",
        _set("dataops:jobs.gitSync.schedule.cron", "0 0 2 * * MON"),
        "Pulumi.prod.yaml: dataops:jobs.gitSync.schedule.cron: '0 0 2 * * MON' is not a Quartz "
        "cron expression (exactly one of day-of-month and day-of-week must be '?'); "
        "for example '0 0 2 * * ?' is daily at 02:00",
    ),
    (
        "not-a-guid",
        "dev",
        _set("dataops:azure.subscriptionId", "my-subscription"),
        "Pulumi.dev.yaml: dataops:azure.subscriptionId: 'my-subscription' is not a GUID",
    ),
    (
        "not-one-of-the-choices",
        "dev",
        _set("dataops:azure.storage.sku", "Premium_LRS"),
        "Pulumi.dev.yaml: dataops:azure.storage.sku: 'Premium_LRS' is not one of "
        "'Standard_LRS', 'Standard_ZRS', 'Standard_GRS' or 'Standard_RAGRS'",
    ),
    (
        "out-of-range",
        "prod",
        _set("dataops:sourceControl.github.mainProtection.requiredApprovals", 9),
        "Pulumi.prod.yaml: dataops:sourceControl.github.mainProtection.requiredApprovals: "
        "9 is more than 6",
    ),
    (
        "bad-format",
        "dev",
        _set("dataops:jobs.gitSync.targetRepository", "github.com/datanova/backup"),
        "Pulumi.dev.yaml: dataops:jobs.gitSync.targetRepository: 'github.com/datanova/backup' "
        "is not a git remote URL (https://, ssh:// or git@)",
    ),
    (
        "listed-twice",
        "prod",
        _append("dataops:unityCatalog.catalogs", {"name": "prod"}),
        "Pulumi.prod.yaml: dataops:unityCatalog.catalogs[1]: 'prod' is listed twice",
    ),
    (
        "prod-jobs-run-as-service-principal",
        "prod",
        _set("dataops:jobs.runAs", "deployer"),
        "Pulumi.prod.yaml: dataops:jobs.runAs: prod jobs must run as the job-runner service "
        "principal ('servicePrincipal')",
    ),
    (
        "prod-keeps-purge-protection",
        "prod",
        _set("dataops:azure.keyVault.purgeProtection", False),
        "Pulumi.prod.yaml: dataops:azure.keyVault.purgeProtection: prod Key Vault must keep "
        "purge protection on",
    ),
    (
        "prod-workspace-is-premium",
        "prod",
        _set("dataops:azure.workspace", {"sku": "standard"}),
        "Pulumi.prod.yaml: dataops:azure.workspace.sku: Unity Catalog governance needs a "
        "premium workspace in prod",
    ),
    (
        "grant-to-a-user",
        "dev",
        _set("dataops:unityCatalog.catalogs[0].grants[1].group", "ben.okafor@datanova.eu"),
        "Pulumi.dev.yaml: dataops:unityCatalog.catalogs[0].grants[1].group: "
        "'ben.okafor@datanova.eu' is a user; grants and owners name groups, never users",
    ),
    (
        "grant-to-an-unknown-group",
        "prod",
        _set("dataops:unityCatalog.catalogs[0].schemas[2].grants[0].group", "finance"),
        "Pulumi.prod.yaml: dataops:unityCatalog.catalogs[0].schemas[2].grants[0].group: "
        "'finance' is not one of identity.groups ['analysts', 'data-engineers', "
        "'platform-admins']; grants go to groups, never to users",
    ),
    (
        "uc-owner-an-unknown-group",
        "staging",
        _set("dataops:unityCatalog.owner", "data-owners"),
        "Pulumi.staging.yaml: dataops:unityCatalog.owner: 'data-owners' is not one of "
        "identity.groups ['analysts', 'data-engineers', 'platform-admins']",
    ),
    (
        "member-not-a-known-user",
        "dev",
        _append("dataops:identity.groups[0].members", "zed@datanova.eu"),
        "Pulumi.dev.yaml: dataops:identity.groups[0].members[1]: 'zed@datanova.eu' is not one "
        "of identity.users; add it there with its displayName",
    ),
    (
        "developer-not-a-known-user",
        "dev",
        _set("dataops:gitFolders.developers[0]", "nobody@datanova.eu"),
        "Pulumi.dev.yaml: dataops:gitFolders.developers[0]: 'nobody@datanova.eu' is not one of "
        "identity.users",
    ),
    (
        "default-catalog-not-a-catalog",
        "dev",
        _set("dataops:unityCatalog.defaultCatalog", "main"),
        "Pulumi.dev.yaml: dataops:unityCatalog.defaultCatalog: 'main' is not one of the "
        "catalogs ['dev']",
    ),
    (
        "reused-metastore-without-id",
        "dev",
        _set("dataops:unityCatalog.metastore", {"mode": "reuse"}),
        "Pulumi.dev.yaml: dataops:unityCatalog.metastore.id: a reused metastore needs the "
        "existing metastore's id",
    ),
    (
        "provider-section-missing",
        "dev",
        _set("dataops:sourceControl", {"provider": "azuredevops"}),
        "Pulumi.dev.yaml: dataops:sourceControl.azureDevops: is required when provider is "
        "azuredevops",
    ),
    (
        "subnet-outside-the-address-space",
        "prod",
        _set("dataops:azure.network.publicSubnet", "10.50.1.0/24"),
        "Pulumi.prod.yaml: dataops:azure.network.publicSubnet: 10.50.1.0/24 is not inside "
        "10.40.0.0/16",
    ),
    (
        "overlapping-subnets",
        "prod",
        _set("dataops:azure.network.privateSubnet", "10.40.1.128/25"),
        "Pulumi.prod.yaml: dataops:azure.network.privateSubnet: overlaps publicSubnet",
    ),
    (
        "subnet-too-small-for-databricks",
        "prod",
        _set("dataops:azure.network.publicSubnet", "10.40.1.0/27"),
        "Pulumi.prod.yaml: dataops:azure.network.publicSubnet: 10.40.1.0/27 is a /27; "
        "Databricks needs subnets of /26 or larger",
    ),
    (
        "zone-that-cannot-name-a-container",
        "dev",
        _set("dataops:azure.storage", {"zones": ["landing", "raw__data"]}),
        "Pulumi.dev.yaml: dataops:azure.storage.zones[1]: 'raw__data': its storage container "
        "'raw--data' would start or end with '-' or hold '--' (no leading, trailing or "
        "doubled '_')",
    ),
    (
        "zone-too-short-for-a-container",
        "dev",
        _set("dataops:azure.storage", {"zones": ["ab"]}),
        "Pulumi.dev.yaml: dataops:azure.storage.zones[0]: 'ab': its storage container 'ab' "
        "needs 3-63 characters",
    ),
    (
        "catalog-name-too-long-for-its-container",
        "dev",
        _set("dataops:unityCatalog.catalogs[0].name", "d" * 56),
        f"Pulumi.dev.yaml: dataops:unityCatalog.catalogs[0].name: '{'d' * 56}': its storage "
        f"container 'catalog-{'d' * 56}' needs 3-63 characters",
    ),
    (
        "catalog-container-is-a-zone-container",
        "dev",
        _set("dataops:azure.storage", {"zones": ["landing", "catalog_dev"]}),
        "Pulumi.dev.yaml: dataops:unityCatalog.catalogs[0].name: its managed-storage "
        "container 'catalog-dev' is also a zone container (azure.storage.zones); rename the "
        "catalog or the zone",
    ),
    (
        "metastore-in-another-region",
        "prod",
        _set("dataops:unityCatalog.metastore.region", "northeurope"),
        "Pulumi.prod.yaml: dataops:unityCatalog.metastore.region: 'northeurope' is not "
        "azure.location 'westeurope'; a workspace can only be assigned a metastore in its own "
        "region",
    ),
    (
        "secret-in-plain-text",
        "dev",
        _set("dataops:teamsWebhookUrl", "https://datanova.webhook.office.com/abc"),
        "Pulumi.dev.yaml: dataops:teamsWebhookUrl: is a secret and must be set with "
        "'pulumi config set --secret', never in plain text",
    ),
    (
        "secure-value-for-a-plain-key",
        "dev",
        _set("dataops:environment", {"secure": "v1:AAAA"}),
        "Pulumi.dev.yaml: dataops:environment: is not a secret setting; only teamsWebhookUrl, "
        "gitSyncToken, gitCredentialToken, slackWebhookUrl may be secure values",
    ),
    (
        "teams-on-without-its-secret",
        "prod",
        _delete("dataops:teamsWebhookUrl"),
        "Pulumi.prod.yaml: dataops:notifications.teams: teams is on but the secret "
        "dataops:teamsWebhookUrl is not set (pulumi config set --secret teamsWebhookUrl <url>)",
    ),
    (
        "unknown-namespace",
        "dev",
        _set("dataop:azure", {}),
        "Pulumi.dev.yaml: dataop:azure: unknown config namespace 'dataop'; "
        "did you mean 'dataops:azure'?",
    ),
    # Identity, source control and Git folders
    (
        "git-credential-token-missing",
        "dev",
        _delete("dataops:gitCredentialToken"),
        "Pulumi.dev.yaml: dataops:gitFolders: Git folders clone with the deployer's git "
        "credential, whose token is the secret dataops:gitCredentialToken, which is not set "
        "(pulumi config set --secret gitCredentialToken <token>)",
    ),
    (
        "git-credential-token-in-plain-text",
        "staging",
        _set("dataops:gitCredentialToken", "github_pat_0123456789"),
        "Pulumi.staging.yaml: dataops:gitCredentialToken: is a secret and must be set with "
        "'pulumi config set --secret', never in plain text",
    ),
    (
        "prod-environment-without-reviewers",
        "prod",
        _set("dataops:sourceControl.github.environmentReviewers", []),
        "Pulumi.prod.yaml: dataops:sourceControl.github.environmentReviewers: prod deployments "
        "need at least one reviewer (GitHub usernames)",
    ),
    (
        "codeowners-on-a-develop-rule-admins-cannot-bypass",
        "prod",
        _set("dataops:sourceControl.github.developProtection.enforceAdmins", True),
        "Pulumi.prod.yaml: dataops:sourceControl.github.developProtection.enforceAdmins: must "
        "be false while codeOwners is set: this stack commits CODEOWNERS to develop as a "
        "repository admin, which the develop rule must let through",
    ),
    (
        "develop-is-main",
        "dev",
        _set("dataops:sourceControl.developBranch", "main"),
        "Pulumi.dev.yaml: dataops:sourceControl.developBranch: 'main' is also mainBranch; "
        "changes reach main from develop through a pull request, so they must differ",
    ),
    (
        "production-git-folder-not-a-repos-path",
        "prod",
        _set("dataops:gitFolders.productionPath", "/Repos/dataops"),
        "Pulumi.prod.yaml: dataops:gitFolders.productionPath: '/Repos/dataops' is not a Git "
        "folder path: under /Repos it is /Repos/<folder>/<name>, for example "
        "/Repos/Production/dataops",
    ),
    (
        "environment-reviewer-not-a-github-login",
        "prod",
        _set("dataops:sourceControl.github.environmentReviewers", ["ana costa"]),
        "Pulumi.prod.yaml: dataops:sourceControl.github.environmentReviewers[0]: 'ana costa' is "
        "not a GitHub owner or repository name",
    ),
    # Jobs and workspace code
    (
        "jobs-catalog-not-a-catalog",
        "dev",
        _set("dataops:jobs.catalog", "main"),
        "Pulumi.dev.yaml: dataops:jobs.catalog: 'main' is not one of the catalogs ['dev']",
    ),
    (
        "jobs-catalog-without-the-medallion-schemas",
        "prod",
        _set("dataops:unityCatalog.catalogs[0].schemas", [{"name": "bronze"}, {"name": "gold"}]),
        "Pulumi.prod.yaml: dataops:unityCatalog.catalogs[0].schemas: the jobs write bronze, "
        "silver and gold in catalog 'prod', which lacks ['silver']",
    ),
    (
        "no-zone-to-read-deliveries-from",
        "dev",
        _set("dataops:azure.storage", {"zones": []}),
        "Pulumi.dev.yaml: dataops:azure.storage.zones: is empty; the medallion job reads its "
        "deliveries from a zone",
    ),
    (
        "landing-zone-not-a-zone",
        "dev",
        _set("dataops:jobs.medallion", {"landingZone": "raw"}),
        "Pulumi.dev.yaml: dataops:jobs.medallion.landingZone: 'raw' is not one of "
        "azure.storage.zones ['landing', 'bronze', 'silver', 'gold']",
    ),
    (
        "job-run-group-not-a-group",
        "dev",
        _set("dataops:jobs.runGroups", ["data-scientists"]),
        "Pulumi.dev.yaml: dataops:jobs.runGroups[0]: 'data-scientists' is not one of "
        "identity.groups ['analysts', 'data-engineers', 'platform-admins']",
    ),
    (
        "job-group-both-runs-and-manages",
        "staging",
        _set("dataops:jobs.runGroups", ["data-engineers", "platform-admins"]),
        "Pulumi.staging.yaml: dataops:jobs.runGroups[1]: 'platform-admins' is also in "
        "manageGroups; a group has one permission on a job",
    ),
    (
        "https-backup-remote-without-its-token",
        "staging",
        _delete("dataops:gitSyncToken"),
        "Pulumi.staging.yaml: dataops:jobs.gitSync.targetRepository: an https remote needs the "
        "secret dataops:gitSyncToken, which is not set (pulumi config set --secret gitSyncToken "
        "<token>); ssh remotes need none",
    ),
    (
        "git-sync-token-in-plain-text",
        "prod",
        _set("dataops:gitSyncToken", "ghp_0123456789"),
        "Pulumi.prod.yaml: dataops:gitSyncToken: is a secret and must be set with "
        "'pulumi config set --secret', never in plain text",
    ),
    (
        "prod-seeds-the-sample-data",
        "prod",
        _set("dataops:jobs.medallion.seedSampleData", True),
        "Pulumi.prod.yaml: dataops:jobs.medallion.seedSampleData: prod ingests only what is "
        "delivered to landing, never the sample dataset",
    ),
    (
        "prod-job-code-under-shared",
        "prod",
        _delete("dataops:jobs.codeFolder"),
        "Pulumi.prod.yaml: dataops:jobs.codeFolder: '/Shared/dataops/<stack>' is under /Shared, "
        "which every workspace user may edit, and prod jobs run this code as the job runner; "
        "set a folder outside it, for example /dataops/prod",
    ),
]


@pytest.mark.parametrize(
    ("stack", "change", "expected"),
    [case[1:] for case in BAD_CONFIG],
    ids=[case[0] for case in BAD_CONFIG],
)
def test_bad_config_is_one_line_naming_file_and_key(
    stack_document: Callable[[str], StackDocument],
    validate: Validate,
    stack: str,
    change: Callable[[Config], None],
    expected: str,
) -> None:
    document = stack_document(stack)
    change(document["config"])
    with pytest.raises(ConfigError) as caught:
        validate(stack, document)
    assert str(caught.value) == expected
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_shipped_stacks_are_valid(
    stack_document: Callable[[str], StackDocument], validate: Validate, stack: str
) -> None:
    config = validate(stack, stack_document(stack))
    assert config.environment is Tier(stack)


def test_a_secure_value_is_accepted_and_recorded_as_set(
    stack_document: Callable[[str], StackDocument], validate: Validate
) -> None:
    document = stack_document("dev")
    # The shape `pulumi config set --secret` writes with a passphrase: v1:<nonce>:<sealed>.
    document["config"]["dataops:teamsWebhookUrl"] = {"secure": CIPHERTEXT}
    document["config"]["dataops:notifications"]["teams"] = True
    config = validate("dev", document)
    assert config.secrets_set == frozenset(
        {"teamsWebhookUrl", "gitCredentialToken", "gitSyncToken"}
    )
    assert config.notifications.teams


def test_the_config_model_is_frozen(
    stack_document: Callable[[str], StackDocument], validate: Validate
) -> None:
    config = validate("dev", stack_document("dev"))
    with pytest.raises(ValueError, match="frozen"):
        config.azure.location = "northeurope"  # type: ignore[misc]


def test_defaults_follow_the_environment(
    stack_document: Callable[[str], StackDocument], validate: Validate
) -> None:
    dev = validate("dev", stack_document("dev"))
    prod = validate("prod", stack_document("prod"))
    # Schedules run in prod and are paused elsewhere unless a stack says otherwise.
    assert dev.jobs_paused(dev.jobs.git_sync.schedule) is True
    assert prod.jobs_paused(prod.jobs.git_sync.schedule) is False
    assert prod.protect_data and not dev.protect_data
    assert dev.names("dev").code_folder == "/Shared/dataops/dev"


def test_a_project_file_error_is_one_line(tmp_path: Any) -> None:
    from dataops.stackfile import read_stack_file

    (tmp_path / "Pulumi.yaml").write_text("name: dataops\nruntime: python\n")
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  dataops:azure: [unclosed\n")
    with pytest.raises(StackFileError) as caught:
        read_stack_file(tmp_path, "broken")
    assert str(caught.value).startswith("Pulumi.broken.yaml: line ")
    with pytest.raises(
        StackFileError, match=r"^Pulumi\.nope\.yaml: no such stack file .*stacks: broken"
    ):
        read_stack_file(tmp_path, "nope")


def test_project_declared_defaults_reach_the_program(tmp_path: Any) -> None:
    from dataops.stackfile import read_stack_file

    (tmp_path / "Pulumi.yaml").write_text(
        "name: dataops\nruntime: python\nconfig:\n"
        "  environment:\n    type: string\n    default: dev\n"
        "  azure-native:location:\n    value: westeurope\n"
    )
    (tmp_path / "Pulumi.x.yaml").write_text("config: {}\n")
    stack_file = read_stack_file(tmp_path, "x")
    assert stack_file.values["dataops:environment"] == "dev"
    assert stack_file.values["azure-native:location"] == "westeurope"


def _shipped_configs(
    stack_document: Callable[[str], StackDocument], validate: Validate
) -> dict[str, StackConfig]:
    return {f"Pulumi.{s}.yaml": validate(s, stack_document(s)) for s in SHIPPED_STACKS}


def test_shipped_stacks_have_one_owner_per_shared_singleton(
    stack_document: Callable[[str], StackDocument], validate: Validate
) -> None:
    configs = _shipped_configs(stack_document, validate)
    check_shared_singletons(configs)
    owners = [f for f, c in configs.items() if c.source_control.github.manage_repository]  # type: ignore[union-attr]
    creators = [f for f, c in configs.items() if c.unity_catalog.metastore.mode == "create"]
    assert owners == creators == ["Pulumi.prod.yaml"]


def test_two_owners_of_the_repository_are_refused(
    stack_document: Callable[[str], StackDocument], validate: Validate
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:sourceControl"]["github"]["manageRepository"] = True
    configs = _shipped_configs(stack_document, validate)
    configs["Pulumi.dev.yaml"] = validate("dev", document)
    with pytest.raises(ConfigError) as caught:
        check_shared_singletons(configs)
    assert str(caught.value) == (
        "Pulumi.dev.yaml, Pulumi.prod.yaml, Pulumi.staging.yaml: dataops:sourceControl: "
        "github.com/datanova/dataops needs exactly one owning stack (manageRepository: true), "
        "found Pulumi.dev.yaml, Pulumi.prod.yaml"
    )


def test_an_unowned_repository_is_refused(
    stack_document: Callable[[str], StackDocument], validate: Validate
) -> None:
    document = stack_document("prod")
    document["config"]["dataops:sourceControl"]["github"]["manageRepository"] = False
    configs = _shipped_configs(stack_document, validate)
    configs["Pulumi.prod.yaml"] = validate("prod", document)
    with pytest.raises(ConfigError, match=r"needs exactly one owning stack .*found none$"):
        check_shared_singletons(configs)


def test_two_creators_of_a_regions_metastore_are_refused(
    stack_document: Callable[[str], StackDocument], validate: Validate
) -> None:
    document = stack_document("staging")
    document["config"]["dataops:unityCatalog"]["metastore"] = {
        "mode": "create",
        "name": "datanova-westeurope-2",
    }
    configs = _shipped_configs(stack_document, validate)
    configs["Pulumi.staging.yaml"] = validate("staging", document)
    with pytest.raises(ConfigError) as caught:
        check_shared_singletons(configs)
    assert str(caught.value) == (
        "Pulumi.prod.yaml, Pulumi.staging.yaml: dataops:unityCatalog.metastore.mode: more than "
        "one stack creates the westeurope metastore; one creates it, the others reuse it by id"
    )
