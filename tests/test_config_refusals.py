"""What a hostile stack config gets refused for (issue #13): each class of bad input is one
line naming the stack file and the key path, before anything is registered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from plan_helpers import SHIPPED_STACKS, StackDocument

from components.config import ConfigError, StackConfig, check_shared_singletons
from dataops.engine import PROJECT_ROOT, validate_stack
from dataops.stackfile import apply_project_config, read_project_config, stack_file_from_document

Config = dict[str, Any]


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
    with pytest.raises(ConfigError, match=r"^Pulumi\.eu-1\.yaml, Pulumi\.eu_1\.yaml: ") as caught:
        check_shared_singletons(configs)
    assert "must be unique in" in str(caught.value)
