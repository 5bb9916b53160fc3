"""What a hostile stack config gets refused for (issue #13): each class of bad input is one
line naming the stack file and the key path, before anything is registered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from plan_helpers import (
    SHIPPED_STACKS,
    Config,
    StackDocument,
    append_config,
    set_config,
)

from components.config import ConfigError, StackConfig, check_shared_singletons
from dataops.engine import PROJECT_ROOT, validate_stack
from dataops.stackfile import apply_project_config, read_project_config, stack_file_from_document


def _validate_as(stack: str, document: StackDocument) -> StackConfig:
    """Validate a document as the stack file of ``stack`` (any name, shipped or not)."""
    stack_file = stack_file_from_document(stack, Path(f"Pulumi.{stack}.yaml"), document)
    return validate_stack(apply_project_config(stack_file, read_project_config(PROJECT_ROOT)))


def _refusal(stack: str, document: StackDocument) -> str:
    with pytest.raises(ConfigError) as caught:
        _validate_as(stack, document)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"Pulumi.{stack}.yaml: ")
    return message


# ------------------------------------------------------------------ derived Azure names


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        (
            "my_stack",
            "Pulumi.my_stack.yaml: dataops:azure.keyVault.name: the Key Vault name "
            "'kv-datanova-my_stack' (from stack 'my_stack') is not valid in Azure: it may not "
            "contain '_' (3-24 letters, digits and '-', starting with a letter, ending with a "
            "letter or digit, no '--'); set azure.keyVault.name, or rename the stack",
        ),
        (
            "dev.eu",
            "Pulumi.dev.eu.yaml: dataops:azure.keyVault.name: the Key Vault name "
            "'kv-datanova-dev.eu' (from stack 'dev.eu') is not valid in Azure: it may not "
            "contain '.' (3-24 letters, digits and '-', starting with a letter, ending with a "
            "letter or digit, no '--'); set azure.keyVault.name, or rename the stack",
        ),
        (
            "dév",
            "Pulumi.dév.yaml: dataops:azure.keyVault.name: the Key Vault name "
            "'kv-datanova-dév' (from stack 'dév') is not valid in Azure: it may not contain "
            "'é' (3-24 letters, digits and '-', starting with a letter, ending with a letter "
            "or digit, no '--'); set azure.keyVault.name, or rename the stack",
        ),
    ],
)
def test_a_stack_name_azure_refuses_is_refused(
    stack_document: Callable[[str], StackDocument], stack: str, expected: str
) -> None:
    assert _refusal(stack, stack_document("dev")) == expected


def test_the_workspace_name_is_checked_once_the_vault_is_named(
    stack_document: Callable[[str], StackDocument],
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:azure"]["keyVault"]["name"] = "kv-datanova-deveu"
    assert _refusal("dev.eu", document) == (
        "Pulumi.dev.eu.yaml: dataops:azure.workspace.name: the Databricks workspace name "
        "'dbw-datanova-dev.eu' (from stack 'dev.eu') is not valid in Azure: it may not "
        "contain '.' (3-64 letters, digits, '_' and '-'); set azure.workspace.name, or "
        "rename the stack"
    )


def test_a_name_with_no_override_names_the_stack(
    stack_document: Callable[[str], StackDocument],
) -> None:
    # A stack 'x(1)': every overridable name is set, the access connector still refuses it.
    document = stack_document("dev")
    azure = document["config"]["dataops:azure"]
    azure["keyVault"]["name"] = "kv-datanova-x1"
    azure["workspace"] = {"name": "dbw-datanova-x1"}
    assert _refusal("x(1)", document).startswith(
        "Pulumi.x(1).yaml: dataops:azure: the access connector name 'dbac-datanova-x(1)' "
        "(from stack 'x(1)') is not valid in Azure: it may not contain '('"
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "resourceGroupName",
            "rg/datanova",
            "dataops:azure.resourceGroupName: 'rg/datanova' is not a resource group name: it "
            "may not contain '/' (1-90 letters, digits, '_', '-', '.', '(' and ')', not ending "
            "with '.')",
        ),
        (
            "resourceGroupName",
            "rg-datanova.",
            "dataops:azure.resourceGroupName: 'rg-datanova.' is not a resource group name: it "
            "may not end with '.' (1-90 letters, digits, '_', '-', '.', '(' and ')', not "
            "ending with '.')",
        ),
        (
            "keyVault",
            {"name": "kv--datanova"},
            "dataops:azure.keyVault.name: 'kv--datanova' is not a Key Vault name (3-24 "
            "letters, digits and '-', starting with a letter, no '--')",
        ),
        (
            "workspace",
            {"managedResourceGroupName": "RG-DATANOVA-DEV"},
            "dataops:azure.workspace.managedResourceGroupName: 'RG-DATANOVA-DEV' is the "
            "workspace's own resource group; Databricks needs a resource group of its own for "
            "the managed resources",
        ),
    ],
)
def test_an_azure_name_azure_refuses_is_refused(
    stack_document: Callable[[str], StackDocument], key: str, value: Any, expected: str
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:azure"][key] = value
    assert _refusal("dev", document) == f"Pulumi.dev.yaml: {expected}"


def test_unicode_letters_are_valid_in_a_resource_group_name(
    stack_document: Callable[[str], StackDocument],
) -> None:
    # Azure's resource group rule takes any Unicode letter (Char.IsLetterOrDigit).
    document = stack_document("dev")
    document["config"]["dataops:azure"]["resourceGroupName"] = "rg-données(dev)"
    assert _validate_as("dev", document).names("dev").resource_group == "rg-données(dev)"


def _configs(documents: dict[str, StackDocument]) -> dict[str, StackConfig]:
    return {f"Pulumi.{s}.yaml": _validate_as(s, d) for s, d in documents.items()}


def _extra_stack(stack_document: Callable[[str], StackDocument], catalog: str) -> StackDocument:
    document = stack_document("dev")
    uc = document["config"]["dataops:unityCatalog"]
    uc["catalogs"][0]["name"] = catalog
    uc["defaultCatalog"] = catalog
    return document


def test_two_long_stack_names_that_truncate_to_one_storage_account_are_refused(
    stack_document: Callable[[str], StackDocument],
) -> None:
    documents = {s: stack_document(s) for s in SHIPPED_STACKS}
    documents["integrationtests1"] = _extra_stack(stack_document, "it1")
    documents["integrationtests2"] = _extra_stack(stack_document, "it2")
    configs = _configs(documents)
    # Alone, each is valid: the names are truncated to Azure's 24 characters.
    assert configs["Pulumi.integrationtests1.yaml"].names("integrationtests1").storage_account == (
        "stdatanovaintegrationtes"
    )
    with pytest.raises(ConfigError) as caught:
        check_shared_singletons(configs)
    assert str(caught.value) == (
        "Pulumi.integrationtests1.yaml, Pulumi.integrationtests2.yaml: "
        "dataops:azure.keyVault.name: Key Vault 'kv-datanova-integrationt' is derived by "
        "more than one stack and must be unique in all of Azure; set azure.keyVault.name in "
        "all but one, or give the stacks names that differ within the first characters"
    )


def test_two_stacks_setting_one_storage_account_are_refused(
    stack_document: Callable[[str], StackDocument],
) -> None:
    documents = {s: stack_document(s) for s in SHIPPED_STACKS}
    for stack in ("dev", "staging"):
        documents[stack]["config"]["dataops:azure"]["storage"]["accountName"] = "stdatanova"
    with pytest.raises(ConfigError) as caught:
        check_shared_singletons(_configs(documents))
    assert str(caught.value) == (
        "Pulumi.dev.yaml, Pulumi.staging.yaml: dataops:azure.storage.accountName: storage "
        "account 'stdatanova' is derived by more than one stack and must be unique in all of "
        "Azure; set azure.storage.accountName in all but one, or give the stacks names that "
        "differ within the first characters"
    )


def test_stacks_whose_unity_catalog_names_meet_are_refused(
    stack_document: Callable[[str], StackDocument],
) -> None:
    # 'eu-1' and 'eu_1' are different stacks with one Unity Catalog prefix, datanova_eu_1.
    documents = {s: stack_document(s) for s in SHIPPED_STACKS}
    documents["eu-1"] = _extra_stack(stack_document, "eu1")
    documents["eu_1"] = _extra_stack(stack_document, "eu2")
    for stack in ("eu-1", "eu_1"):
        azure = documents[stack]["config"]["dataops:azure"]
        azure["keyVault"]["name"] = f"kv-datanova-{stack.replace('_', 'x')}"
        azure["storage"]["accountName"] = f"stdatanova{stack.replace('_', 'x').replace('-', '')}"
        azure["resourceGroupName"] = f"rg-{stack}"
        azure["workspace"] = {"managedResourceGroupName": f"rg-{stack}-managed"}
    configs = _configs(documents)
    with pytest.raises(ConfigError) as caught:
        check_shared_singletons(configs)
    assert str(caught.value) == (
        "Pulumi.eu-1.yaml, Pulumi.eu_1.yaml: dataops:azure.namePrefix: Unity Catalog name "
        "'datanova_eu_1_access_connector' is derived by more than one stack and must be unique "
        "in the westeurope metastore of Databricks account 8d2f6a31-0c7e-4b59-a3d1-7e9b2c4f6a80; "
        "give the stacks names that differ in more than '-', '_' or '.'"
    )


# ------------------------------------------------------------------ values a service refuses


_set, _append = set_config, append_config


_CATALOG_TAKES = (
    "ALL_PRIVILEGES, APPLY_TAG, BROWSE, CREATE_FUNCTION, CREATE_MATERIALIZED_VIEW, "
    "CREATE_SCHEMA, CREATE_TABLE, CREATE_VOLUME, EXECUTE, MANAGE, MODIFY, READ_VOLUME, "
    "SELECT, USE_CATALOG, USE_SCHEMA, WRITE_VOLUME"
)

# (case id, stack, change, the exact error line after 'Pulumi.<stack>.yaml: ')
REFUSED: list[tuple[str, str, Callable[[Config], None], str]] = [
    # Azure values
    (
        "unknown-region",
        "dev",
        _set("dataops:azure.location", "westeurop"),
        "dataops:azure.location: 'westeurop' is not an Azure region; did you mean 'westeurope'?",
    ),
    (
        "region-of-another-cloud",
        "prod",
        _set("dataops:azure.location", "chinanorth3"),
        "dataops:azure.location: 'chinanorth3' is not an Azure region",
    ),
    (
        "metastore-in-an-unknown-region",
        "prod",
        _set("dataops:unityCatalog.metastore.region", "mars"),
        "dataops:unityCatalog.metastore.region: 'mars' is not an Azure region",
    ),
    (
        "more-than-50-tags",
        "dev",
        _set("dataops:azure.tags", {f"tag{i}": "x" for i in range(48)}),
        "dataops:azure.tags: has 48 tags; Azure takes 50 per resource and the program adds 3 "
        "(project, environment, stack), so at most 47",
    ),
    (
        "illegal-tag-name",
        "prod",
        _set("dataops:azure.tags", {"cost/center": "x"}),
        "dataops:azure.tags: tag name 'cost/center' contains '/'; Azure refuses < > % & \\ ? / "
        "in tag names",
    ),
    (
        "tag-name-too-long",
        "prod",
        _set("dataops:azure.tags", {"n" * 129: "x"}),
        "dataops:azure.tags: tag name 'nnnnnnnnnnnnnnnnnnnn'... has 129 characters; Azure takes "
        "128 on storage accounts",
    ),
    (
        "tag-value-too-long",
        "prod",
        _set("dataops:azure.tags", {"owner": "v" * 257}),
        "dataops:azure.tags: the value of tag 'owner' has 257 characters; Azure takes 256",
    ),
    (
        "tags-differing-only-by-case",
        "dev",
        _set("dataops:azure.tags", {"Owner": "a", "owner": "b"}),
        "dataops:azure.tags: tag 'owner' differs from 'Owner' only by case; Azure tag names "
        "are case-insensitive, so they are one tag",
    ),
    (
        "tag-shadowing-a-program-tag-by-case",
        "dev",
        _set("dataops:azure.tags", {"Stack": "x"}),
        "dataops:azure.tags: tag 'Stack' differs from 'stack' only by case; Azure tag names "
        "are case-insensitive, so they are one tag",
    ),
    # Schedules
    (
        "schedule-on-30-february",
        "prod",
        _set("dataops:jobs.medallion.schedule.cron", "0 0 5 30 FEB ?"),
        "dataops:jobs.medallion.schedule.cron: '0 0 5 30 FEB ?' never fires: day-of-month '30' "
        "never occurs in FEB",
    ),
    (
        "schedule-on-31-april-and-june",
        "prod",
        _set("dataops:jobs.medallion.schedule.cron", "0 0 5 31 4,6 ?"),
        "dataops:jobs.medallion.schedule.cron: '0 0 5 31 4,6 ?' never fires: day-of-month '31' "
        "never occurs in APR, JUN",
    ),
    (
        "schedule-in-a-past-year",
        "prod",
        _set("dataops:jobs.medallion.schedule.cron", "0 0 5 1 1 ? 1999"),
        "dataops:jobs.medallion.schedule.cron: '0 0 5 1 1 ? 1999' never fires: year '1999' is past",
    ),
    (
        "schedule-with-a-zero-increment",
        "prod",
        _set("dataops:jobs.gitSync.schedule.cron", "0 0/0 2 * * ?"),
        "dataops:jobs.gitSync.schedule.cron: '0 0/0 2 * * ?' is not a Quartz cron expression "
        "(field minutes '0/0' is not valid); for example '0 0 2 * * ?' is daily at 02:00",
    ),
    (
        "misspelled-time-zone",
        "prod",
        _set("dataops:jobs.medallion.schedule.timezone", "Europe/Amsterdan"),
        "dataops:jobs.medallion.schedule.timezone: 'Europe/Amsterdan' is not a Java time zone "
        "id; did you mean 'Europe/Amsterdam'?",
    ),
    (
        "time-zone-in-the-wrong-case",
        "dev",
        _set("dataops:jobs.gitSync.schedule.timezone", "utc"),
        "dataops:jobs.gitSync.schedule.timezone: 'utc' is not a Java time zone id; did you "
        "mean 'UTC'?",
    ),
    # Git refs
    (
        "branch-with-a-space",
        "dev",
        _set("dataops:sourceControl.developBranch", "my branch"),
        "dataops:sourceControl.developBranch: 'my branch' is not a git branch name: it "
        "contains ' '",
    ),
    (
        "branch-with-dot-dot",
        "prod",
        _set("dataops:sourceControl.mainBranch", "release..1"),
        "dataops:sourceControl.mainBranch: 'release..1' is not a git branch name: it contains '..'",
    ),
    (
        "branch-ending-in-lock",
        "dev",
        _set("dataops:jobs.gitSync.targetBranch", "backup/main.lock"),
        "dataops:jobs.gitSync.targetBranch: 'backup/main.lock' is not a git branch name: it "
        "has a part 'main.lock' that starts with '.' or ends with '.lock'",
    ),
    (
        "branch-starting-with-a-dash",
        "dev",
        _set("dataops:jobs.gitSync.targetBranch", "-f"),
        "dataops:jobs.gitSync.targetBranch: '-f' is not a git branch name: it starts with '-' "
        "or '/', or ends with '/' or '.'",
    ),
    # Privileges per securable, one grant per group
    (
        "file-privilege-on-a-catalog",
        "dev",
        _append("dataops:unityCatalog.catalogs[0].grants[1].privileges", "READ_FILES"),
        "dataops:unityCatalog.catalogs[0].grants[1].privileges[6]: READ_FILES does not apply "
        f"to a catalog; it takes {_CATALOG_TAKES}",
    ),
    (
        "use-catalog-on-a-schema",
        "prod",
        _append("dataops:unityCatalog.catalogs[0].schemas[0].grants[0].privileges", "USE_CATALOG"),
        "dataops:unityCatalog.catalogs[0].schemas[0].grants[0].privileges[2]: USE_CATALOG does "
        "not apply to a schema; it takes ALL_PRIVILEGES, APPLY_TAG, CREATE_FUNCTION, "
        "CREATE_MATERIALIZED_VIEW, CREATE_TABLE, CREATE_VOLUME, EXECUTE, MANAGE, MODIFY, "
        "READ_VOLUME, SELECT, USE_SCHEMA, WRITE_VOLUME",
    ),
    (
        "select-on-an-external-location",
        "dev",
        _append("dataops:unityCatalog.externalLocationGrants[0].privileges", "SELECT"),
        "dataops:unityCatalog.externalLocationGrants[0].privileges[2]: SELECT does not apply to "
        "an external location; it takes ALL_PRIVILEGES, BROWSE, CREATE_EXTERNAL_TABLE, "
        "CREATE_EXTERNAL_VOLUME, CREATE_MANAGED_STORAGE, MANAGE, READ_FILES, WRITE_FILES",
    ),
    (
        "group-granted-twice-on-a-catalog",
        "dev",
        _append(
            "dataops:unityCatalog.catalogs[0].grants",
            {"group": "analysts", "privileges": ["BROWSE"]},
        ),
        "dataops:unityCatalog.catalogs[0].grants[3].group: 'analysts' is granted on this "
        "catalog already (grants[2]); list its privileges once",
    ),
    (
        "privilege-listed-twice",
        "dev",
        _append("dataops:unityCatalog.catalogs[0].grants[2].privileges", "SELECT"),
        "dataops:unityCatalog.catalogs[0].grants[2].privileges[3]: 'SELECT' is listed twice",
    ),
    # Strict booleans and integers, ranges
    (
        "integer-for-a-boolean",
        "prod",
        _set("dataops:notifications.teams", 1),
        "dataops:notifications.teams: 1 is not true or false",
    ),
    (
        "string-true-for-a-boolean",
        "dev",
        _set("dataops:identity.groups[0].entitlements.allowClusterCreate", "true"),
        "dataops:identity.groups[0].entitlements.allowClusterCreate: 'true' is not true or false",
    ),
    (
        "string-for-an-integer",
        "dev",
        _set("dataops:jobs.cluster.numWorkers", "2"),
        "dataops:jobs.cluster.numWorkers: '2' is not an integer",
    ),
    (
        "float-for-an-integer",
        "dev",
        _set("dataops:jobs.gitSync.maxRetries", 1.0),
        "dataops:jobs.gitSync.maxRetries: 1.0 is not an integer",
    ),
    (
        "boolean-for-an-integer",
        "dev",
        _set("dataops:jobs.cluster.numWorkers", True),
        "dataops:jobs.cluster.numWorkers: True is not an integer",
    ),
    (
        "integer-beyond-what-pulumi-carries",
        "prod",
        _set("dataops:jobs.gitSync.timeoutSeconds", 2**64),
        "dataops:jobs.gitSync.timeoutSeconds: 18446744073709551616 is beyond what Pulumi "
        "carries exactly (2**53 - 1)",
    ),
    # Names people read, duplicates and case
    (
        "blank-display-name",
        "dev",
        _set("dataops:identity.users[1].displayName", "   "),
        "dataops:identity.users[1].displayName: is blank; give the name people see in the "
        "account console",
    ),
    (
        "two-service-principals-one-name",
        "staging",
        _set(
            "dataops:identity.servicePrincipals.jobRunner.displayName",
            "SP-datanova-staging-deployer",
        ),
        "dataops:identity.servicePrincipals.jobRunner.displayName: "
        "'SP-datanova-staging-deployer' is also the deployer's displayName (or its preview "
        "principal's); each service principal needs its own name",
    ),
    (
        "job-runner-named-like-the-preview-principal",
        "prod",
        _set(
            "dataops:identity.servicePrincipals.jobRunner.displayName",
            "sp-datanova-prod-deployer-preview",
        ),
        "dataops:identity.servicePrincipals.jobRunner.displayName: "
        "'sp-datanova-prod-deployer-preview' is also the deployer's displayName (or its "
        "preview principal's); each service principal needs its own name",
    ),
    (
        "groups-differing-only-by-case",
        "dev",
        _append("dataops:identity.groups", {"name": "Analysts"}),
        "dataops:identity.groups[3]: 'Analysts' differs from 'analysts' only by case; the "
        "service compares them without case, so they are one",
    ),
    (
        "reviewer-listed-twice-in-another-case",
        "prod",
        _append("dataops:sourceControl.github.environmentReviewers", "Ana-Costa-Datanova"),
        "dataops:sourceControl.github.environmentReviewers[2]: 'Ana-Costa-Datanova' differs "
        "from 'ana-costa-datanova' only by case; the service compares them without case, so "
        "they are one",
    ),
    (
        "required-check-listed-twice",
        "prod",
        _append("dataops:sourceControl.github.mainProtection.requiredChecks", "lint"),
        "dataops:sourceControl.github.mainProtection.requiredChecks[4]: 'lint' is listed twice",
    ),
    (
        "developer-listed-twice",
        "dev",
        _append("dataops:gitFolders.developers", "ben.okafor@datanova.eu"),
        "dataops:gitFolders.developers[3]: 'ben.okafor@datanova.eu' is listed twice",
    ),
    (
        "notification-email-listed-twice",
        "prod",
        _append("dataops:notifications.emails", "Data-Oncall@datanova.eu"),
        "dataops:notifications.emails[2]: 'data-oncall@datanova.eu' is listed twice",
    ),
]


@pytest.mark.parametrize(
    ("stack", "change", "expected"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_value_the_service_refuses_is_one_line(
    stack_document: Callable[[str], StackDocument],
    stack: str,
    change: Callable[[Config], None],
    expected: str,
) -> None:
    document = stack_document(stack)
    change(document["config"])
    assert _refusal(stack, document) == f"Pulumi.{stack}.yaml: {expected}"


@pytest.mark.parametrize(
    "name",
    [
        "main",
        "develop",
        "feature/x",
        "release/1.0",
        "a..b",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "a@{1}",
        "HEAD",
        "/a",
        "a/",
        "a//b",
        "a.",
        "-a",
        ".a",
        "a/.b",
        "a.lock",
        "a/b.lock/c",
        "x\x7f",
        "é",
        "a@b",
        "foo.lock2",
        "a\tb",
    ],
)
def test_branch_names_follow_git_check_ref_format(name: str) -> None:
    import shutil
    import subprocess

    from components.config.types import git_branch_problem

    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    result = subprocess.run([git, "check-ref-format", "--branch", name], capture_output=True)
    assert (git_branch_problem(name) is None) == (result.returncode == 0), name


def test_every_iana_zone_and_the_shipped_schedules_are_accepted(
    stack_document: Callable[[str], StackDocument],
) -> None:
    from components.config.types import java_time_zones

    zones = java_time_zones()
    assert {"UTC", "Europe/Amsterdam", "America/Sao_Paulo", "Etc/GMT+2"} <= zones
    assert "localtime" not in zones  # a file of some machines' zoneinfo, no zone id
    document = stack_document("prod")
    document["config"]["dataops:jobs"]["medallion"]["schedule"] = {
        "cron": "0 0 5 29 FEB ?",  # leap years only: it fires
        "timezone": "America/Sao_Paulo",
    }
    _validate_as("prod", document)


# ------------------------------------------------------------------ credentials

_LEAKS = (
    "plan --json, diff and the pull-request comment print every non-secret value: remove it "
    "and keep credentials in secrets (pulumi config set --secret <key> <value>)"
)
_DATABRICKS_PAT = "dapi" + "0123456789abcdef" * 2
_GITHUB_PAT = "ghp_" + "A1b2C3d4E5" * 4
# Built from parts, like the two above: no token shape stands in the source as one piece.
_SLACK_TOKEN = "xox" + "b-1234567890-abcdefghij"
_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzcC1kYXRhbm92YSJ9.c2lnbmF0dXJl"

CREDENTIALS: list[tuple[str, str, Callable[[Config], None], str]] = [
    (
        "token-inside-a-backup-url",
        "prod",
        _set(
            "dataops:jobs.gitSync.targetRepository",
            f"https://x-access-token:{_GITHUB_PAT}@github.com/datanova/notebook-backup.git",
        ),
        f"dataops:jobs.gitSync.targetRepository: holds a password inside a URL; {_LEAKS}",
    ),
    (
        "token-as-the-user-of-a-url",
        "dev",
        _set(
            "dataops:jobs.gitSync.targetRepository",
            "https://0123456789abcdef0123456789abcdef01234567@github.com/datanova/backup.git",
        ),
        f"dataops:jobs.gitSync.targetRepository: holds a token inside a URL; {_LEAKS}",
    ),
    (
        "databricks-token-in-a-comment",
        "dev",
        _set("dataops:unityCatalog.catalogs[0].comment", f"debug with {_DATABRICKS_PAT}"),
        "dataops:unityCatalog.catalogs[0].comment: holds a Databricks personal access token; "
        f"{_LEAKS}",
    ),
    (
        "github-token-in-a-tag",
        "dev",
        _set("dataops:azure.tags", {"deployToken": _GITHUB_PAT}),
        f"dataops:azure.tags.deployToken: holds a GitHub token; {_LEAKS}",
    ),
    (
        "slack-token-in-a-description",
        "prod",
        _set("dataops:sourceControl.github.description", f"alerts: {_SLACK_TOKEN}"),
        f"dataops:sourceControl.github.description: holds a Slack token; {_LEAKS}",
    ),
    (
        "jwt-in-a-display-name",
        "dev",
        _set("dataops:identity.users[0].displayName", _JWT),
        f"dataops:identity.users[0].displayName: holds a JSON Web Token; {_LEAKS}",
    ),
    (
        "storage-key-in-a-metastore-root",
        "prod",
        _set(
            "dataops:unityCatalog.metastore.storageRoot",
            "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=bm90LWEta2V5;",
        ),
        f"dataops:unityCatalog.metastore.storageRoot: holds an Azure storage account key; {_LEAKS}",
    ),
    (
        "credential-in-a-provider-setting",
        "dev",
        _set("databricks:host", "https://admin:hunter2@adb-1.azuredatabricks.net"),
        f"databricks:host: holds a password inside a URL; {_LEAKS}",
    ),
    # Provider credentials in plain text
    (
        "plaintext-github-token",
        "prod",
        _set("github:token", _GITHUB_PAT),
        "github:token: is a provider credential and must not be in plain text: remove it and "
        "run pulumi config set --secret github:token <value>",
    ),
    (
        "plaintext-databricks-token",
        "dev",
        _set("databricks:token", "not-even-a-token-shape"),
        "databricks:token: is a provider credential and must not be in plain text: remove it "
        "and run pulumi config set --secret databricks:token <value>",
    ),
    (
        "plaintext-azure-client-secret",
        "staging",
        _set("azure-native:clientSecret", "s3cr3t~value"),
        "azure-native:clientSecret: is a provider credential and must not be in plain text: "
        "remove it and run pulumi config set --secret azure-native:clientSecret <value>",
    ),
    # secure: values that are no ciphertext
    (
        "plaintext-under-secure",
        "dev",
        _set("dataops:gitSyncToken", {"secure": "my-backup-token"}),
        "dataops:gitSyncToken: secure: is not a Pulumi ciphertext (a plain value pasted under "
        "secure:?); encrypt it with: pulumi config set --secret gitSyncToken <value>",
    ),
    (
        "token-under-secure",
        "prod",
        _set("dataops:gitCredentialToken", {"secure": _GITHUB_PAT}),
        "dataops:gitCredentialToken: secure: holds a GitHub token in plain text; encrypt it "
        "with: pulumi config set --secret gitCredentialToken <value>",
    ),
    (
        "base64-of-too-little-under-secure",
        "dev",
        _set("dataops:gitSyncToken", {"secure": "c2VjcmV0"}),
        "dataops:gitSyncToken: secure: is not a Pulumi ciphertext (a plain value pasted under "
        "secure:?); encrypt it with: pulumi config set --secret gitSyncToken <value>",
    ),
    (
        "passphrase-ciphertext-with-a-bad-nonce",
        "dev",
        _set("dataops:gitSyncToken", {"secure": "v1:AAAA:" + "A" * 32}),
        "dataops:gitSyncToken: secure: is not a Pulumi ciphertext (a plain value pasted under "
        "secure:?); encrypt it with: pulumi config set --secret gitSyncToken <value>",
    ),
    (
        "number-under-secure",
        "dev",
        _set("dataops:gitSyncToken", {"secure": 1234}),
        "dataops:gitSyncToken: secure: is not a string; encrypt it with: pulumi config set "
        "--secret gitSyncToken <value>",
    ),
    (
        "plaintext-under-secure-for-a-provider-key",
        "prod",
        _set("github:token", {"secure": "hunter2hunter2"}),
        "github:token: secure: is not a Pulumi ciphertext (a plain value pasted under "
        "secure:?); encrypt it with: pulumi config set --secret github:token <value>",
    ),
]


@pytest.mark.parametrize(
    ("stack", "change", "expected"),
    [case[1:] for case in CREDENTIALS],
    ids=[case[0] for case in CREDENTIALS],
)
def test_a_credential_outside_a_secret_is_refused_without_repeating_it(
    stack_document: Callable[[str], StackDocument],
    stack: str,
    change: Callable[[Config], None],
    expected: str,
) -> None:
    document = stack_document(stack)
    change(document["config"])
    message = _refusal(stack, document)
    assert message == f"Pulumi.{stack}.yaml: {expected}"
    for secret in (_DATABRICKS_PAT, _GITHUB_PAT, _JWT, "hunter2", "bm90LWEta2V5"):
        assert secret not in message


@pytest.mark.parametrize(
    "ciphertext",
    [
        # Passphrase provider: v1:<base64 12-byte nonce>:<base64 sealed box>.
        "v1:Gxax31OLoS3D+X7b:Ln0sA6lQeuJl7PW1NWiFpTOTogKdJBOUmXJloaJa78YYrD5zQ/AWiQxRDpP5NSYRadnj9Q==",
        # Pulumi Cloud or a cloud KMS: base64 of the service's ciphertext.
        "AAABAFq7HXJDUmL4mOAlhPWBg8uqq5HwAcfcnX1yN1oe5Gq5eJ2ZbVxWTRt1Nh8=",
        # The shipped stacks' placeholder, which pulumi up refuses until it is replaced.
        "v1:Zm9vYmFyYmF6cXV4:placeholder-encrypted-by-pulumi-config-set-secret",
    ],
)
def test_what_pulumi_writes_under_secure_is_accepted(
    stack_document: Callable[[str], StackDocument], ciphertext: str
) -> None:
    document = stack_document("prod")
    document["config"]["dataops:gitSyncToken"] = {"secure": ciphertext}
    document["config"]["github:token"] = {"secure": ciphertext}
    assert "gitSyncToken" in _validate_as("prod", document).secrets_set


def test_a_user_name_in_a_url_is_no_credential(
    stack_document: Callable[[str], StackDocument],
) -> None:
    # Azure DevOps clone URLs carry the organization as the user; ssh remotes carry 'git'.
    document = stack_document("dev")
    gitsync = document["config"]["dataops:jobs"]["gitSync"]
    for remote in (
        "https://datanova@dev.azure.com/datanova/dataops/_git/notebook-backup",
        "ssh://git@github.com/datanova/notebook-backup.git",
        "git@github.com:datanova/notebook-backup.git",
    ):
        gitsync["targetRepository"] = remote
        _validate_as("dev", document)


# ------------------------------------------------------------------ through the CLI


def _cli(root: Path, *args: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from dataops.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(["--root", str(root), *args])
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    import shutil

    for path in PROJECT_ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_plan_of_a_stack_azure_cannot_name_registers_nothing(project_root: Path) -> None:
    import shutil

    shutil.copy(project_root / "Pulumi.dev.yaml", project_root / "Pulumi.my_stack.yaml")
    status, stdout, stderr = _cli(project_root, "plan", "my_stack", "--json")
    assert (status, stdout) == (2, "")
    assert stderr.splitlines() == [
        "Pulumi.my_stack.yaml: dataops:azure.keyVault.name: the Key Vault name "
        "'kv-datanova-my_stack' (from stack 'my_stack') is not valid in Azure: it may not "
        "contain '_' (3-24 letters, digits and '-', starting with a letter, ending with a "
        "letter or digit, no '--'); set azure.keyVault.name, or rename the stack"
    ]


def test_validate_all_refuses_stacks_that_truncate_to_one_name(project_root: Path) -> None:
    text = (project_root / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    for index in (1, 2):
        # Each its own catalog, so only the derived Azure names meet.
        own = text.replace("- name: dev", f"- name: it{index}").replace(
            "defaultCatalog: dev", f"defaultCatalog: it{index}"
        )
        (project_root / f"Pulumi.integrationtests{index}.yaml").write_text(own, encoding="utf-8")
    status, stdout, stderr = _cli(project_root, "validate", "--all")
    assert status == 2
    assert "Pulumi.integrationtests1.yaml: ok (dev)" in stdout.splitlines()
    assert stderr.splitlines() == [
        "Pulumi.integrationtests1.yaml, Pulumi.integrationtests2.yaml: "
        "dataops:azure.keyVault.name: Key Vault 'kv-datanova-integrationt' is derived by more "
        "than one stack and must be unique in all of Azure; set azure.keyVault.name in all but "
        "one, or give the stacks names that differ within the first characters"
    ]


# ------------------------------------------------------------------ as under `pulumi up`


@pytest.mark.parametrize(
    ("stack", "extra", "expected"),
    [
        (
            "dev",
            {"github:token": _GITHUB_PAT},
            "Pulumi.dev.yaml: github:token: is a provider credential and must not be in plain "
            "text: remove it and run pulumi config set --secret github:token <value>",
        ),
        (
            "dev",
            {"databricks:host": "https://admin:hunter2@adb-1.azuredatabricks.net"},
            f"Pulumi.dev.yaml: databricks:host: holds a password inside a URL; {_LEAKS}",
        ),
        (
            "my_stack",
            {},
            "Pulumi.my_stack.yaml: dataops:azure.keyVault.name: the Key Vault name "
            "'kv-datanova-my_stack' (from stack 'my_stack') is not valid in Azure: it may not "
            "contain '_' (3-24 letters, digits and '-', starting with a letter, ending with a "
            "letter or digit, no '--'); set azure.keyVault.name, or rename the stack",
        ),
    ],
)
def test_the_program_refuses_as_the_offline_engine_does(
    stack: str, extra: dict[str, str], expected: str
) -> None:
    # The config the Pulumi CLI hands the program: the same checks run before any resource.
    from dataops.engine import run_program
    from dataops.mocks import Recording
    from dataops.stackfile import read_stack_file

    config, secret_keys = read_stack_file(PROJECT_ROOT, "dev").pulumi_config()
    config.update(extra)
    recording = Recording()
    with pytest.raises(ConfigError) as caught:
        run_program(stack, config, secret_keys, recording)
    assert str(caught.value) == expected
    assert recording.resources == []
