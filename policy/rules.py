"""The governance rules of dataops: pure functions over a resource's type, name and properties.

One source of truth for two callers:

- the CrossGuard pack (``policy/pack.py``), which the Pulumi CLI runs with
  ``pulumi preview|up --policy-pack policy`` against the cloud;
- the offline engine (``dataops/policy.py``), which ``python -m dataops plan`` runs over
  the rendered plan, with no cloud and no Pulumi CLI.

This module needs the standard library only (and the project's stdlib-only tier table and
secret keys, ``components/tiers.py`` and ``components/secret_keys.py``), so the offline
engine imports it without ``pulumi_policy`` and the pack's own virtualenv needs nothing
more than the SDKs.

Enforcement follows the stack's tier (its ``dataops:environment``, which both callers
read from the stack's config) and that tier's row of the tier table: mandatory where the
row says ``mandatory_policy`` (staging and prod), advisory elsewhere (dev); a rule that is
about production only is disabled in the tiers that are not. Where the tier cannot be
read (the pack run outside a stack), every rule is mandatory, as in prod.

Properties are camelCase, as Pulumi passes them: a resource rule sees the inputs the
program registers; a stack rule sees every resource of the stack, plus the root
``pulumi:pulumi:Stack`` resource whose properties are the stack outputs (the real engine
hands a stack policy each resource's outputs, which for these properties carry the same
values as the inputs). A value that is not known yet (a preview of something not created
yet) is ``UNKNOWN`` and never a violation: ``pulumi up`` runs the stack rules again on the
deployed values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from components.sandbox_names import SandboxNames
from components.secret_keys import SecretKey
from components.tiers import TIERS as TIER_TABLE
from components.tiers import Tier, TierTraits

TIERS = frozenset(str(tier) for tier in TIER_TABLE)
# The sandboxes' tier, bound by the sandbox rules; the platform rules judge what only a
# platform stack creates (a protected main branch, bound catalogs, workspace settings).
SANDBOX_TIERS = frozenset(str(tier) for tier, row in TIER_TABLE.items() if row.sandbox)
PLATFORM_TIERS = TIERS - SANDBOX_TIERS
# The tiers whose row says production: rules about production data only apply there.
PRODUCTION_TIERS = frozenset(str(tier) for tier, row in TIER_TABLE.items() if row.production)


def _tiers_where(trait: Callable[[TierTraits], bool]) -> frozenset[str]:
    """The tiers whose row turns a control on: a posture rule binds where its tier's
    defaults promise the control, so config that drops it below the default is caught."""
    return frozenset(str(tier) for tier, row in TIER_TABLE.items() if trait(row))


PRIVATE_TIERS = _tiers_where(lambda row: row.network_mode == "private")
CMK_TIERS = _tiers_where(lambda row: row.customer_managed_keys)
MONITORED_TIERS = _tiers_where(lambda row: row.enhanced_security_monitoring)
UPDATED_TIERS = _tiers_where(lambda row: row.automatic_cluster_update)
SERVERLESS_TIERS = _tiers_where(lambda row: row.serverless_egress_restricted)
PROJECT = "dataops"

# A value the engine does not know yet, and a secret as the offline engine masks it
# (the same strings as dataops.mocks, which a test keeps in step).
UNKNOWN = "[unknown]"
SECRET_MASK = "[secret]"

# The secure config keys of the stack. The pack reads their decrypted values to recognise
# them in the outputs.
SECRET_CONFIG_KEYS = tuple(str(key) for key in SecretKey)

STACK = "pulumi:pulumi:Stack"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
KEY_VAULT = "azure-native:keyvault:Vault"
WORKSPACE = "azure-native:databricks:Workspace"
GITHUB_REPOSITORY = "github:index/repository:Repository"
BRANCH_PROTECTION = "github:index/branchProtection:BranchProtection"
REPOSITORY_RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
ADO_REPOSITORY = "azuredevops:index/git:Git"
ADO_MIN_REVIEWERS = "azuredevops:index/branchPolicyMinReviewers:BranchPolicyMinReviewers"
METASTORE = "databricks:index/metastore:Metastore"
METASTORE_ASSIGNMENT = "databricks:index/metastoreAssignment:MetastoreAssignment"
CATALOG = "databricks:index/catalog:Catalog"
SCHEMA = "databricks:index/schema:Schema"
WORKSPACE_BINDING = "databricks:index/workspaceBinding:WorkspaceBinding"
GRANTS = "databricks:index/grants:Grants"
GRANT = "databricks:index/grant:Grant"
JOB = "databricks:index/job:Job"
DASHBOARD = "databricks:index/dashboard:Dashboard"
SQL_WAREHOUSE = "databricks:index/sqlEndpoint:SqlEndpoint"
VAULT_KEY = "azure-native:keyvault:Key"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
WORKSPACE_CONF = "databricks:index/workspaceConf:WorkspaceConf"
IP_ACCESS_LIST = "databricks:index/ipAccessList:IpAccessList"
LEGACY_ACCESS = "databricks:index/disableLegacyAccessSetting:DisableLegacyAccessSetting"
LEGACY_DBFS = "databricks:index/disableLegacyDbfsSetting:DisableLegacyDbfsSetting"
NOTEBOOK = "databricks:index/notebook:Notebook"
WORKSPACE_FILE = "databricks:index/workspaceFile:WorkspaceFile"
DIRECTORY = "databricks:index/directory:Directory"
PERMISSIONS = "databricks:index/permissions:Permissions"
SECRET_SCOPE = "databricks:index/secretScope:SecretScope"
SECRET = "databricks:index/secret:Secret"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
DATABRICKS_PROVIDER = "pulumi:providers:databricks"
SECURITY_MONITORING = (
    "databricks:index/enhancedSecurityMonitoringWorkspaceSetting:"
    "EnhancedSecurityMonitoringWorkspaceSetting"
)
CLUSTER_UPDATE = (
    "databricks:index/automaticClusterUpdateWorkspaceSetting:AutomaticClusterUpdateWorkspaceSetting"
)
NCC_BINDING = "databricks:index/mwsNccBinding:MwsNccBinding"
NCC_RULE = "databricks:index/mwsNccPrivateEndpointRule:MwsNccPrivateEndpointRule"
NETWORK_POLICY = "databricks:index/accountNetworkPolicy:AccountNetworkPolicy"
NETWORK_OPTION = "databricks:index/workspaceNetworkOption:WorkspaceNetworkOption"


class Enforcement(StrEnum):
    """What a violation does; the values are CrossGuard's enforcement levels."""

    ADVISORY = "advisory"  # reported, the deploy goes on
    MANDATORY = "mandatory"  # reported, the deploy stops
    DISABLED = "disabled"  # not evaluated


@dataclass(frozen=True)
class Resource:
    """A resource as a rule sees it, whoever calls the rule."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False

    def get(self, path: str, default: Any = None) -> Any:
        """The property at a dotted path ('sku.name', 'grants.0.principal'), or ``default``."""
        current: Any = self.props
        for part in path.split("."):
            if isinstance(current, Mapping) and part in current:
                current = current[part]
            elif isinstance(current, Sequence) and not isinstance(current, str) and part.isdigit():
                if int(part) >= len(current):
                    return default
                current = current[int(part)]
            else:
                return default
        return current

    @property
    def label(self) -> str:
        return f"{self.type} {self.name}"


@dataclass(frozen=True)
class SandboxContext:
    """What the sandbox rules judge a sandbox's resources against: its namespace's names
    (``components/sandbox_names.py``, as the program derives them) and the sandbox size
    of its tier's row."""

    names: SandboxNames
    node_types: tuple[str, ...]
    max_job_minutes: int | None

    @classmethod
    def of(cls, names: SandboxNames) -> SandboxContext:
        row = TIER_TABLE[Tier.SANDBOX]
        return cls(names, row.sandbox_node_types, row.sandbox_max_job_minutes)


@dataclass(frozen=True)
class StackContext:
    """What the rules know of the stack beyond its resources."""

    tier: str | None  # dev, staging, prod; None when it cannot be read (strictest)
    main_branch: str = "main"
    # Values of the stack's secure config keys: decrypted ones in the pack, the engine's
    # placeholders offline. An output holding one exports a secret.
    secret_values: frozenset[str] = frozenset()
    # A sandbox's namespace; None outside sandboxes, or when its config cannot be read
    # (then nothing is inside the namespace).
    sandbox: SandboxContext | None = None


@dataclass(frozen=True)
class Finding:
    """A stack rule's violation; ``urn`` names the resource at fault (None: the stack)."""

    message: str
    urn: str | None = None


ResourceCheck = Callable[[Resource, StackContext], Iterator[str]]
StackCheck = Callable[[Sequence[Resource], StackContext], Iterator[Finding]]


@dataclass(frozen=True)
class ResourceRule:
    """A rule on one resource at a time, of the given types."""

    name: str
    description: str
    types: frozenset[str]
    check: ResourceCheck
    tiers: frozenset[str] = PLATFORM_TIERS
    # The Security Analysis Tool checks the rule decides before deploy (check ids).
    sat: tuple[str, ...] = ()

    def violations(self, resource: Resource, context: StackContext) -> list[str]:
        if resource.type not in self.types:
            return []
        return list(self.check(resource, context))


@dataclass(frozen=True)
class StackRule:
    """A rule on the stack as a whole: relations between resources, and the outputs."""

    name: str
    description: str
    check: StackCheck
    tiers: frozenset[str] = PLATFORM_TIERS
    sat: tuple[str, ...] = ()

    def violations(self, resources: Sequence[Resource], context: StackContext) -> list[Finding]:
        return list(self.check(resources, context))


Rule = ResourceRule | StackRule


def enforcement(rule: Rule, tier: str | None) -> Enforcement:
    """As the tier's row says (mandatory in staging and prod, advisory in dev), disabled
    where the rule does not apply."""
    if tier is None or tier not in TIERS:
        # As in prod, the strictest platform tier (a sandbox always says it is one).
        tier = str(Tier.PROD)
    if tier not in rule.tiers:
        return Enforcement.DISABLED
    mandatory = next(row for key, row in TIER_TABLE.items() if key == tier).mandatory_policy
    return Enforcement.MANDATORY if mandatory else Enforcement.ADVISORY


def stack_context_from_config(config: Mapping[str, str]) -> StackContext:
    """The context from a stack's config as the Pulumi CLI passes it (``PULUMI_CONFIG``).

    Keys are ``namespace:key``; object values are JSON text; secure values are decrypted.
    """
    environment = config.get(f"{PROJECT}:environment")
    tier = environment if environment in TIERS else None
    main_branch = "main"
    try:
        source = json.loads(config.get(f"{PROJECT}:sourceControl") or "{}")
    except ValueError:
        source = {}
    if isinstance(source, dict) and isinstance(source.get("mainBranch"), str):
        main_branch = source["mainBranch"]
    secrets = frozenset(
        value
        for key in SECRET_CONFIG_KEYS
        if isinstance(value := config.get(f"{PROJECT}:{key}"), str) and value
    )
    sandbox = _sandbox_context(config.get(f"{PROJECT}:sandbox")) if tier in SANDBOX_TIERS else None
    return StackContext(tier=tier, main_branch=main_branch, secret_values=secrets, sandbox=sandbox)


def _sandbox_context(text: str | None) -> SandboxContext | None:
    """The namespace from the sandbox's config (user, branch, base stack), as the program
    derives it; None when the config cannot be read."""
    try:
        settings = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(settings, dict):
        return None
    user, branch = settings.get("user"), settings.get("branch")
    base = settings.get("baseStack", "dev")
    if not (isinstance(user, str) and isinstance(branch, str) and isinstance(base, str)):
        return None
    return SandboxContext.of(SandboxNames(user.strip().lower(), branch, base))


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def _known(value: Any) -> bool:
    return not (isinstance(value, str) and value == UNKNOWN)


def _number(value: Any) -> float | None:
    # Offline the engine passes ints; the CLI passes every number as a float.
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _id(value: Any) -> str:
    # Workspace ids are strings in one place and numbers in another: compare them as text.
    number = _number(value)
    return str(int(number)) if number is not None and number.is_integer() else str(value)


# ------------------------------------------------------------------------------ storage


def _storage_no_public_access(resource: Resource, context: StackContext) -> Iterator[str]:
    if resource.type == STORAGE_ACCOUNT:
        allowed = resource.get("allowBlobPublicAccess")
        if allowed is not False and _known(allowed):
            yield (
                f"allowBlobPublicAccess is {_show(allowed)}: anyone could read a container "
                "made public; set allow_blob_public_access=False"
            )
    else:
        access = resource.get("publicAccess")
        if access not in (None, "None") and _known(access):
            yield f"publicAccess is {_show(access)}: containers stay private (PublicAccess.NONE)"


def _storage_tls(resource: Resource, context: StackContext) -> Iterator[str]:
    version = resource.get("minimumTlsVersion")
    if version not in ("TLS1_2", "TLS1_3") and _known(version):
        yield f"minimumTlsVersion is {_show(version)}: set MinimumTlsVersion.TLS1_2"
    if resource.get("enableHttpsTrafficOnly") is False:
        yield "enableHttpsTrafficOnly is false: plain HTTP would be accepted"


# ---------------------------------------------------------------------------- workspace


def _workspace_premium(resource: Resource, context: StackContext) -> Iterator[str]:
    sku = resource.get("sku.name")
    if sku != "premium" and _known(sku):
        yield f"sku is {_show(sku)}: Unity Catalog governance needs a premium workspace"


def _workspace_no_public_ip(resource: Resource, context: StackContext) -> Iterator[str]:
    no_public_ip = resource.get("parameters.enableNoPublicIp.value")
    if no_public_ip is not True and _known(no_public_ip):
        yield (
            f"parameters.enableNoPublicIp is {_show(no_public_ip)}: cluster nodes would get "
            "public IPs; use secure cluster connectivity (azure.workspace.noPublicIp: true)"
        )


def _key_vault_purge_protection(resource: Resource, context: StackContext) -> Iterator[str]:
    purge_protection = resource.get("properties.enablePurgeProtection")
    if purge_protection is not True and _known(purge_protection):
        yield (
            f"properties.enablePurgeProtection is {_show(purge_protection)}: a deleted prod "
            "vault and its secrets could be purged before anyone notices"
        )


# ------------------------------------------------------------------------------- source


def _protects_main(pattern: Any, context: StackContext) -> bool:
    return pattern == context.main_branch or not _known(pattern)


def _main_requires_review(resource: Resource, context: StackContext) -> Iterator[str]:
    main = context.main_branch
    if resource.type == BRANCH_PROTECTION:
        if not _protects_main(resource.get("pattern"), context):
            return
        reviews = resource.get("requiredPullRequestReviews") or []
        if not reviews:
            yield f"{main} takes pushes without a pull request: require an approving review"
        else:
            # The provider's default is 1 when the block is present.
            count = resource.get("requiredPullRequestReviews.0.requiredApprovingReviewCount", 1)
            number = _number(count)
            if number is not None and number < 1:
                yield (
                    f"requiredApprovingReviewCount is {_show(count)}: {main} needs at least "
                    "1 approving review"
                )
        if resource.get("allowsForcePushes") is True:
            yield f"allowsForcePushes is true: {main}'s history could be rewritten"
        if resource.get("allowsDeletions") is True:
            yield f"allowsDeletions is true: {main} could be deleted"
        return
    # Azure DevOps: a minimum-reviewers policy scoped to main (a scope without a ref
    # covers every branch of its repository).
    scopes = resource.get("settings.scopes") or []
    refs = [scope.get("repositoryRef") if isinstance(scope, Mapping) else None for scope in scopes]
    if not any(ref in (None, f"refs/heads/{main}", UNKNOWN) for ref in refs):
        return
    count = resource.get("settings.reviewerCount")
    number = _number(count)
    if number is not None and number < 1:
        yield f"settings.reviewerCount is {_show(count)}: {main} needs at least 1 reviewer"
    if resource.get("enabled") is False:
        yield f"enabled is false: the policy does not protect {main}"
    if resource.get("blocking") is False:
        yield f"blocking is false: a pull request into {main} completes without its reviewers"


def _ruleset_protects_main(resource: Resource, context: StackContext) -> bool:
    includes = resource.get("conditions.refName.includes") or []
    if f"refs/heads/{context.main_branch}" not in includes and "~ALL" not in includes:
        return False
    count = _number(resource.get("rules.pullRequest.requiredApprovingReviewCount"))
    return (
        resource.get("enforcement") == "active"
        and count is not None
        and count >= 1
        and resource.get("rules.nonFastForward") is True
    )


def _main_is_protected(resources: Sequence[Resource], context: StackContext) -> Iterator[Finding]:
    main = context.main_branch
    github_protected = any(
        (r.type == BRANCH_PROTECTION and _protects_main(r.get("pattern"), context))
        or (r.type == REPOSITORY_RULESET and _ruleset_protects_main(r, context))
        for r in resources
    )
    ado_protected = any(_ado_policy_on_main(r, context) for r in resources)
    for repository in resources:
        if repository.type == GITHUB_REPOSITORY and not github_protected:
            yield Finding(
                f"the repository {_show(repository.get('name'))} is created here but {main} "
                "has no branch protection (or active ruleset) requiring a pull request "
                "review and forbidding force pushes",
                repository.urn,
            )
        if repository.type == ADO_REPOSITORY and not ado_protected:
            yield Finding(
                f"the repository {_show(repository.get('name'))} is created here but {main} "
                "has no minimum-reviewers branch policy",
                repository.urn,
            )


def _ado_policy_on_main(resource: Resource, context: StackContext) -> bool:
    if resource.type != ADO_MIN_REVIEWERS:
        return False
    scopes = resource.get("settings.scopes") or []
    return any(
        not isinstance(scope, Mapping)
        or scope.get("repositoryRef") in (None, f"refs/heads/{context.main_branch}", UNKNOWN)
        for scope in scopes
    )


# ------------------------------------------------------------------------ Unity Catalog


def _catalogs_bound(resources: Sequence[Resource], context: StackContext) -> Iterator[Finding]:
    # This stack's workspace: the one its metastore assignment names (offline, where only
    # inputs exist) or the Azure workspace's numeric id (an output, in the real engine).
    workspaces = {
        _id(value)
        for r in resources
        if r.type in (METASTORE_ASSIGNMENT, WORKSPACE)
        and (value := r.get("workspaceId")) is not None
        and _known(value)
    }
    bindings = [
        r for r in resources if r.type == WORKSPACE_BINDING and r.get("securableType") == "catalog"
    ]
    for catalog in (r for r in resources if r.type == CATALOG):
        name = catalog.get("name")
        mode = catalog.get("isolationMode")
        if mode != "ISOLATED" and _known(mode):
            yield Finding(
                f"catalog {_show(name)} has isolationMode {_show(mode)}: every workspace "
                "attached to the metastore could open it; set ISOLATED",
                catalog.urn,
            )
        own = [b for b in bindings if b.get("securableName") in (name, UNKNOWN)]
        targets = {_id(b.get("workspaceId")) for b in own}
        if not any(t in workspaces or t == UNKNOWN for t in targets):
            yield Finding(
                f"catalog {_show(name)} has no WorkspaceBinding to this stack's workspace "
                f"({', '.join(sorted(workspaces)) or 'none found'})",
                catalog.urn,
            )
        for binding in own:
            target = _id(binding.get("workspaceId"))
            if workspaces and target not in workspaces and target != UNKNOWN:
                yield Finding(
                    f"binds catalog {_show(name)} to workspace {target}, which is not this "
                    "stack's: another environment could read its data",
                    binding.urn,
                )


def _no_user_grants(resource: Resource, context: StackContext) -> Iterator[str]:
    if resource.type == GRANT:
        entries = [("principal", resource.get("principal"))]
    else:
        grants = resource.get("grants") or []
        entries = [
            (f"grants[{i}].principal", g.get("principal") if isinstance(g, Mapping) else None)
            for i, g in enumerate(grants)
        ]
    for where, principal in entries:
        if isinstance(principal, str) and "@" in principal:
            yield (
                f"{where} is the user {principal!r}: grant to an account group "
                "(identity.groups) so access follows membership"
            )


# --------------------------------------------------------------------------------- jobs


def _prod_jobs_run_as_service_principal(resource: Resource, context: StackContext) -> Iterator[str]:
    service_principal = resource.get("runAs.servicePrincipalName")
    if not _known(service_principal):
        return
    if not service_principal:
        user = resource.get("runAs.userName") or resource.get("runAs.groupName")
        who = f"runs as {user!r}" if user else "runs as its owner (whoever deployed it)"
        yield (
            f"runAs.servicePrincipalName is unset: the job {who}; prod jobs run as the "
            "job-runner service principal (jobs.runAs: servicePrincipal)"
        )


# ------------------------------------------------------------------------------ outputs

_SECRET_WORDS = frozenset(
    {"secret", "secrets", "token", "tokens", "password", "passwords", "passwd", "pwd"}
    | {"passphrase", "apikey", "sas"}
)
# Words that suggest a secret only at the end of a name: `storageKey`, not `keyVaultUri`.
_SECRET_LAST_WORDS = frozenset({"key", "keys"})


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def secret_word(name: str) -> str | None:
    """The word of an output name that says it holds a secret, if any."""
    words = _words(name)
    joined = "".join(words)
    for word in words:
        if word in _SECRET_WORDS:
            return word
    if words and words[-1] in _SECRET_LAST_WORDS:
        return words[-1]
    if "connectionstring" in joined:
        return "connection string"
    return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, last key, value) of every value under an output."""
    if isinstance(value, Mapping):
        for key in value:
            child = f"{path}.{key}"
            yield child, str(key), value[key]
            yield from _walk(value[key], child)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def _holds_secret(value: Any, secrets: frozenset[str]) -> bool:
    if not isinstance(value, str):
        return False
    # Short values would match by accident; real tokens and webhook URLs are long.
    return any(secret in value if len(secret) >= 8 else secret == value for secret in secrets)


def _no_secret_outputs(resources: Sequence[Resource], context: StackContext) -> Iterator[Finding]:
    """Outputs are read by anyone with `pulumi stack output`: no secret goes there in clear.

    Offline, a secret the program exports with ``Output.secret`` shows as ``[secret]``
    and is allowed. The real pack cannot see that mask: the Python policy SDK unwraps
    secrets before a policy sees them, so there every output counts as clear, and a
    secret-named output or one holding a secret config value fails even when masked.
    The rule is stricter in the cloud than offline, never looser.
    """
    for stack in (r for r in resources if r.type == STACK):
        for name, value in stack.props.items():
            entries = [(name, name, value), *_walk(value, name)]
            for path, key, item in entries:
                if item is None or item == SECRET_MASK or not _known(item):
                    continue
                word = secret_word(key)
                if word and not isinstance(item, Mapping | list):
                    yield Finding(
                        f"output {path} is named like a secret ({word}) and its value is "
                        "exported in clear: don't export secrets as stack outputs",
                        stack.urn,
                    )
                elif _holds_secret(item, context.secret_values):
                    yield Finding(
                        f"output {path} holds the value of a secure config key in clear",
                        stack.urn,
                    )


# ------------------------------------------------------------------------------ posture
# Derived from the Security Analysis Tool's Azure checks (configs/security_best_practices.csv
# of databricks-industry-solutions/security-analysis-tool) that desired state decides;
# docs/security.md lists which checks these cover and which they cannot.

_UI_API = "databricks_ui_api"
KEY_VAULT_SOURCE = "Microsoft.Keyvault"


def _same(value: Any, expected: str) -> bool:
    """Azure compares these enums case-insensitively ('disabled' or 'Disabled')."""
    return not _known(value) or (isinstance(value, str) and value.lower() == expected.lower())


def _workspace_private_link(resource: Resource, context: StackContext) -> Iterator[str]:
    access = resource.get("publicNetworkAccess")
    if not _same(access, "Disabled"):
        yield (
            f"publicNetworkAccess is {_show(access)}: the workspace answers from the internet; "
            "use azure.network.mode: private (front-end Private Link)"
        )
    rules = resource.get("requiredNsgRules")
    if not _same(rules, "NoAzureDatabricksRules"):
        yield (
            f"requiredNsgRules is {_show(rules)}: clusters may reach the control plane over "
            "public addresses; back-end Private Link needs NoAzureDatabricksRules"
        )
    network = resource.get("parameters.customVirtualNetworkId.value")
    if network is None:
        yield "parameters.customVirtualNetworkId is unset: the clusters are not VNet-injected"


def _private_service_id(endpoint: Resource) -> Any:
    return endpoint.get("privateLinkServiceConnections.0.privateLinkServiceId")


def _has_group(endpoint: Resource, group: str) -> bool:
    groups = endpoint.get("privateLinkServiceConnections.0.groupIds")
    if not _known(groups):
        return True
    return isinstance(groups, Sequence) and (group in groups or UNKNOWN in groups)


def _reaches(endpoint: Resource, provider_path: str, name: Any) -> bool:
    target = _private_service_id(endpoint)
    if not _known(target) or not _known(name):
        return True
    return isinstance(target, str) and target.lower().endswith(f"/{provider_path}/{name}".lower())


def _private_endpoints(resources: Sequence[Resource], context: StackContext) -> Iterator[Finding]:
    endpoints = [r for r in resources if r.type == PRIVATE_ENDPOINT]

    def count(provider_path: str, name: Any, group: str) -> int:
        return sum(_reaches(e, provider_path, name) and _has_group(e, group) for e in endpoints)

    for workspace in (r for r in resources if r.type == WORKSPACE):
        name = workspace.get("workspaceName")
        found = count("Microsoft.Databricks/workspaces", name, _UI_API)
        if found < 2:
            yield Finding(
                f"workspace {_show(name)} has {found} {_UI_API} private endpoint(s): "
                "back end (clusters) and front end (users) need one each",
                workspace.urn,
            )
    for account in (r for r in resources if r.type == STORAGE_ACCOUNT):
        name = account.get("accountName")
        for group in ("dfs", "blob"):
            if not count("Microsoft.Storage/storageAccounts", name, group):
                yield Finding(
                    f"storage account {_show(name)} has no {group} private endpoint",
                    account.urn,
                )
    for vault in (r for r in resources if r.type == KEY_VAULT):
        name = vault.get("vaultName")
        if not count("Microsoft.KeyVault/vaults", name, "vault"):
            yield Finding(f"Key Vault {_show(name)} has no private endpoint", vault.urn)


def _private_dns(resources: Sequence[Resource], context: StackContext) -> Iterator[Finding]:
    grouped = {
        r.get("privateEndpointName")
        for r in resources
        if r.type == DNS_ZONE_GROUP and r.get("privateDnsZoneConfigs")
    }
    for endpoint in (r for r in resources if r.type == PRIVATE_ENDPOINT):
        name = endpoint.get("privateEndpointName")
        if _known(name) and name not in grouped and UNKNOWN not in grouped:
            yield Finding(
                f"private endpoint {_show(name)} registers in no private DNS zone "
                "(PrivateDnsZoneGroup): its name would still resolve to the public address",
                endpoint.urn,
            )
    linked = {r.get("privateZoneName") for r in resources if r.type == ZONE_LINK}
    for zone in (r for r in resources if r.type == PRIVATE_ZONE):
        name = zone.get("privateZoneName")
        if _known(name) and name not in linked and UNKNOWN not in linked:
            yield Finding(
                f"private DNS zone {_show(name)} is linked to no virtual network",
                zone.urn,
            )


def _storage_private(resource: Resource, context: StackContext) -> Iterator[str]:
    access = resource.get("publicNetworkAccess")
    if not _same(access, "Disabled"):
        yield f"publicNetworkAccess is {_show(access)}: reach the data through private endpoints"
    action = resource.get("networkRuleSet.defaultAction")
    if not _same(action, "Deny"):
        yield (
            f"networkRuleSet.defaultAction is {_show(action)}: the firewall must deny by "
            "default (the access connector is a trusted resource instance)"
        )


def _key_vault_private(resource: Resource, context: StackContext) -> Iterator[str]:
    access = resource.get("properties.publicNetworkAccess")
    if not _same(access, "Disabled"):
        yield f"properties.publicNetworkAccess is {_show(access)}: use its private endpoint"
    action = resource.get("properties.networkAcls.defaultAction")
    if not _same(action, "Deny"):
        yield f"properties.networkAcls.defaultAction is {_show(action)}: deny by default"


def _workspace_customer_managed_keys(resource: Resource, context: StackContext) -> Iterator[str]:
    for what, path in (
        ("managed services", "encryption.entities.managedServices.keySource"),
        ("managed disks", "encryption.entities.managedDisk.keySource"),
        ("the DBFS root", "parameters.encryption.value.keySource"),
    ):
        source = resource.get(path)
        if not _same(source, KEY_VAULT_SOURCE):
            yield f"{path} is {_show(source)}: {what} are not encrypted with the stack's key"
    rotation = resource.get("encryption.entities.managedDisk.rotationToLatestKeyVersionEnabled")
    if rotation is not True and _known(rotation):
        yield (
            f"managedDisk.rotationToLatestKeyVersionEnabled is {_show(rotation)}: disks would "
            "stay on an old key version after rotation"
        )


def _key_rotates(resource: Resource, context: StackContext) -> Iterator[str]:
    kty = resource.get("properties.kty")
    if _known(kty) and kty not in ("RSA", "RSA-HSM"):
        yield f"properties.kty is {_show(kty)}: Databricks wraps with RSA keys only"
    actions = resource.get("properties.rotationPolicy.lifetimeActions") or []
    if not _known(actions):
        return
    kinds = [a.get("action", {}).get("type") for a in actions if isinstance(a, Mapping)]
    if not any(isinstance(k, str) and k.lower() == "rotate" for k in kinds):
        yield "properties.rotationPolicy has no rotate action: the key never gets a new version"


def _conf(resources: Sequence[Resource]) -> Mapping[str, Any] | None:
    """The workspace conf the stack sets, merged; None when it sets none."""
    confs = [r.get("customConfig") for r in resources if r.type == WORKSPACE_CONF]
    merged: dict[str, Any] = {}
    for conf in confs:
        if isinstance(conf, Mapping):
            merged.update(conf)
    return merged if confs else None


def _stack_level(resources: Sequence[Resource]) -> str | None:
    """The workspace a workspace-wide finding blames; None when the stack creates none
    (its settings are then another stack's business)."""
    return next((r.urn for r in resources if r.type == WORKSPACE), None)


# SAT IA-4 reports tokens living longer than 90 days.
MAX_TOKEN_LIFETIME_DAYS = 90


def _tokens_limited(resources: Sequence[Resource], context: StackContext) -> Iterator[Finding]:
    at = _stack_level(resources)
    if at is None:
        return
    conf = _conf(resources)
    if conf is None:
        yield Finding("no WorkspaceConf sets maxTokenLifetimeDays: tokens may never expire", at)
        return
    days = conf.get("maxTokenLifetimeDays")
    number = _number(int(days)) if isinstance(days, str) and days.isdigit() else _number(days)
    if _known(days) and (number is None or number < 1 or number > MAX_TOKEN_LIFETIME_DAYS):
        yield Finding(
            f"maxTokenLifetimeDays is {_show(days)}: new tokens must expire within "
            f"{MAX_TOKEN_LIFETIME_DAYS} days",
            at,
        )
    row = next((r for t, r in TIER_TABLE.items() if t == context.tier), None)
    tokens = conf.get("enableTokensConfig")
    if row is not None and not row.personal_access_tokens and _known(tokens) and tokens != "false":
        yield Finding(
            f"enableTokensConfig is {_show(tokens)}: {context.tier} signs in with OIDC only, "
            "personal access tokens stay off",
            at,
        )


def _setting_value(resources: Sequence[Resource], type_: str, path: str) -> Any:
    values = [r.get(path) for r in resources if r.type == type_]
    return values[0] if values else None


def _legacy_features_off(resources: Sequence[Resource], context: StackContext) -> Iterator[Finding]:
    at = _stack_level(resources)
    if at is None:
        return
    for type_, path, what in (
        (
            LEGACY_ACCESS,
            "disableLegacyAccess.value",
            "legacy access (Hive metastore, no-isolation clusters)",
        ),
        (LEGACY_DBFS, "disableLegacyDbfs.value", "the DBFS root and mounts"),
    ):
        value = _setting_value(resources, type_, path)
        if value is not True and _known(value):
            yield Finding(f"{what} stay available: {path} is {_show(value)}", at)
    conf = _conf(resources) or {}
    browser = conf.get("enableDbfsFileBrowser")
    if browser != "false" and _known(browser):
        yield Finding(f"enableDbfsFileBrowser is {_show(browser)}: the DBFS browser is on", at)


def _security_monitoring(resources: Sequence[Resource], context: StackContext) -> Iterator[Finding]:
    path = "enhancedSecurityMonitoringWorkspace.isEnabled"
    value = _setting_value(resources, SECURITY_MONITORING, path)
    at = _stack_level(resources)
    if at is not None and value is not True and _known(value):
        yield Finding(f"enhanced security monitoring is off ({path} is {_show(value)})", at)


def _automatic_cluster_update(
    resources: Sequence[Resource], context: StackContext
) -> Iterator[Finding]:
    path = "automaticClusterUpdateWorkspace.enabled"
    value = _setting_value(resources, CLUSTER_UPDATE, path)
    at = _stack_level(resources)
    if at is not None and value is not True and _known(value):
        yield Finding(
            f"automatic cluster update is off ({path} is {_show(value)}): clusters keep "
            "old host images",
            at,
        )


def _serverless_egress(resources: Sequence[Resource], context: StackContext) -> Iterator[Finding]:
    at = _stack_level(resources)
    if at is None:
        return
    if not any(r.type == NCC_BINDING for r in resources):
        yield Finding(
            "no network connectivity config is bound to the workspace: serverless compute "
            "cannot reach private storage and its egress is not governed",
            at,
        )
    rules = {r.get("groupId") for r in resources if r.type == NCC_RULE}
    for group in ("dfs", "blob"):
        if group not in rules and UNKNOWN not in rules:
            yield Finding(f"no serverless private endpoint rule reaches the storage's {group}", at)
    policies = {
        r.get("networkPolicyId"): r.get("egress.networkAccess.restrictionMode")
        for r in resources
        if r.type == NETWORK_POLICY
    }
    options = [r.get("networkPolicyId") for r in resources if r.type == NETWORK_OPTION]
    if not options:
        yield Finding("the workspace keeps the account's default network policy", at)
    for policy_id in options:
        mode = policies.get(policy_id, UNKNOWN if not _known(policy_id) else None)
        if mode != "RESTRICTED_ACCESS" and _known(mode):
            yield Finding(
                f"serverless egress is {_show(mode)} under network policy {_show(policy_id)}: "
                "restrict it to the allowed destinations (RESTRICTED_ACCESS)",
                at,
            )


def _public_front_end_allow_list(
    resources: Sequence[Resource], context: StackContext
) -> Iterator[Finding]:
    for workspace in (r for r in resources if r.type == WORKSPACE):
        if _same(workspace.get("publicNetworkAccess"), "Disabled"):
            continue
        allowed = [
            r
            for r in resources
            if r.type == IP_ACCESS_LIST
            and r.get("listType") == "ALLOW"
            and r.get("enabled") is not False
        ]
        conf = _conf(resources) or {}
        enabled = conf.get("enableIpAccessLists")
        if not allowed or (enabled != "true" and _known(enabled)):
            yield Finding(
                "the workspace's front end is public and no enabled IP access list (ALLOW) "
                "limits who reaches it",
                workspace.urn,
            )


# ------------------------------------------------------------------------------- deletes

# The workspace's customer-managed key too: deleting it makes the data it wraps unreadable.
_DATA_TYPES = frozenset(
    {STORAGE_ACCOUNT, BLOB_CONTAINER, KEY_VAULT, VAULT_KEY, METASTORE, CATALOG, SCHEMA}
)


def _prod_data_protected(resource: Resource, context: StackContext) -> Iterator[str]:
    if not resource.protect:
        yield (
            "protect is off: a destroy or a replacement would delete prod data; "
            "give it ResourceOptions(protect=True)"
        )


# ---------------------------------------------------------------------------- sandboxes

# What a sandbox may create: workspace objects of its own namespace, and the reference to
# its base stack. Anything else (an Azure resource, an account-level object, a catalog, a
# cluster policy, a warehouse) belongs to a platform stack.
SANDBOX_TYPES = frozenset(
    {SCHEMA, GRANTS, JOB, PERMISSIONS, NOTEBOOK, WORKSPACE_FILE, DIRECTORY, SECRET_SCOPE}
    | {SECRET, STACK_REFERENCE, DATABRICKS_PROVIDER}
)
# Account-level Databricks objects, named as such in the message (they are outside the
# allowlist anyway).
_ACCOUNT_TYPES = frozenset(
    {METASTORE, METASTORE_ASSIGNMENT, NCC_BINDING, NCC_RULE, NETWORK_POLICY, NETWORK_OPTION}
    | {
        "databricks:index/group:Group",
        "databricks:index/user:User",
        "databricks:index/servicePrincipal:ServicePrincipal",
        "databricks:index/groupMember:GroupMember",
        "databricks:index/mwsPermissionAssignment:MwsPermissionAssignment",
        "databricks:index/accessControlRuleSet:AccessControlRuleSet",
        "databricks:index/servicePrincipalFederationPolicy:ServicePrincipalFederationPolicy",
    }
)
# The account console's host (https://learn.microsoft.com/azure/databricks/dev-tools/auth/):
# a provider pointed there, or given an account id, acts at the account level.
_ACCOUNT_HOST = "accounts.azuredatabricks.net"
# The tiers whose stacks a sandbox must never read: those deployed by service principals
# only, under mandatory rules (staging, prod); and other sandboxes.
_UNREFERENCEABLE = frozenset(str(tier) for tier, row in TIER_TABLE.items() if row.mandatory_policy)


def _sandbox_kind(resource_type: str) -> str:
    if resource_type.startswith(("azure-native:", "pulumi:providers:azure-native")):
        return "an Azure resource"
    if resource_type in _ACCOUNT_TYPES:
        return "an account-level Databricks object"
    if resource_type.startswith(("github:", "azuredevops:", "pulumi:providers:")):
        return "a resource outside the workspace"
    return "not a sandbox object"


def _sandbox_workspace_only(
    resources: Sequence[Resource], context: StackContext
) -> Iterator[Finding]:
    for resource in resources:
        kind = resource.type
        if kind == STACK or kind.startswith(f"{PROJECT}:"):
            continue  # the stack and the program's components hold no cloud object
        if kind not in SANDBOX_TYPES:
            yield Finding(
                f"{resource.label} is {_sandbox_kind(kind)}; a sandbox creates workspace "
                "objects of its namespace only (the platform stacks own the rest)",
                resource.urn,
            )
        elif kind == DATABRICKS_PROVIDER:
            host = resource.get("host")
            if resource.get("accountId") or (isinstance(host, str) and _ACCOUNT_HOST in host):
                yield Finding(
                    f"{resource.label} is an account-level provider (accountId or the "
                    "account console's host); a sandbox talks to its workspace only",
                    resource.urn,
                )


def _sandbox_references(resources: Sequence[Resource], context: StackContext) -> Iterator[Finding]:
    base = context.sandbox.names.base_stack if context.sandbox else None
    for resource in resources:
        if resource.type != STACK_REFERENCE:
            continue
        name = resource.get("name")
        if not _known(name) or not isinstance(name, str):
            continue
        stack = name.rsplit("/", 1)[-1]
        if stack in _UNREFERENCEABLE or stack.startswith("sandbox-"):
            yield Finding(
                f"{resource.label} reads the stack {name!r}; a sandbox never reads staging, "
                "prod or another sandbox",
                resource.urn,
            )
        elif base is not None and stack != base:
            yield Finding(
                f"{resource.label} reads the stack {name!r}, not its base stack {base!r}",
                resource.urn,
            )


def _sandbox_schedules_paused(resource: Resource, context: StackContext) -> Iterator[str]:
    for trigger in ("schedule", "trigger", "continuous"):
        if resource.get(trigger) is None:
            continue
        status = resource.get(f"{trigger}.pauseStatus")
        if _known(status) and status != "PAUSED":
            yield (
                f"{trigger}.pauseStatus is {_show(status)}: a sandbox job runs only when its "
                "developer starts it"
            )


def _job_clusters(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every cluster spec of a job: its job clusters and any task's own new cluster."""
    for index, cluster in enumerate(resource.get("jobClusters") or []):
        spec = cluster.get("newCluster") if isinstance(cluster, Mapping) else None
        if isinstance(spec, Mapping):
            yield f"jobClusters[{index}].newCluster", spec
    for index, task in enumerate(resource.get("tasks") or []):
        spec = task.get("newCluster") if isinstance(task, Mapping) else None
        if isinstance(spec, Mapping):
            yield f"tasks[{index}].newCluster", spec


def _sandbox_cluster_size(resource: Resource, context: StackContext) -> Iterator[str]:
    sandbox = context.sandbox
    allowed = sandbox.node_types if sandbox else ()
    for where, spec in _job_clusters(resource):
        workers = _number(spec.get("numWorkers"))
        if spec.get("autoscale") is not None or (workers is not None and workers > 0):
            yield f"{where} has workers: a sandbox job cluster is single-node (numWorkers 0)"
        for key in ("nodeTypeId", "driverNodeTypeId"):
            node = spec.get(key)
            if key == "nodeTypeId" and node is None:
                yield f"{where}.nodeTypeId is unset; a sandbox names one of {', '.join(allowed)}"
            elif node is not None and _known(node) and allowed and node not in allowed:
                yield (
                    f"{where}.{key} is {node!r}, bigger than a sandbox gets; one of "
                    f"{', '.join(allowed)}"
                )
    longest = sandbox.max_job_minutes if sandbox else None
    timeout = _run_timeout(resource)
    if longest is not None and (timeout is None or timeout > longest * 60):
        shown = "unset" if timeout is None else f"{int(timeout)} seconds"
        yield (
            f"the run's timeout is {shown} (timeoutSeconds, or every task's): a sandbox run "
            f"stops within {longest} minutes"
        )


def _run_timeout(resource: Resource) -> float | None:
    """The longest a run may take: the job's timeout, else (when every task has one) the
    longest task's; None: unbounded (0 is no timeout in the Jobs API)."""
    job = _number(resource.get("timeoutSeconds"))
    if job:
        return job
    tasks = [_number(t.get("timeoutSeconds")) for t in resource.get("tasks") or []]
    if not tasks or any(not t for t in tasks):
        return None
    return max(t for t in tasks if t)


def _sandbox_jobs_personal(resource: Resource, context: StackContext) -> Iterator[str]:
    owner = context.sandbox.names.user if context.sandbox else None
    user = resource.get("runAs.userName")
    if _known(user) and (owner is None or user != owner):
        yield f"runAs.userName is {_show(user)}: a sandbox job runs as its developer {owner}"
    emails = resource.get("emailNotifications.onFailures") or []
    others = [e for e in emails if e != owner]
    if others:
        yield f"emailNotifications.onFailures mails {others}: a sandbox tells its developer only"
    if resource.get("webhookNotifications") is not None:
        yield "webhookNotifications is set: a sandbox posts to no team channel"


def _under(path: Any, folder: str) -> bool:
    return isinstance(path, str) and (path == folder or path.startswith(f"{folder}/"))


def _sandbox_namespace(resource: Resource, context: StackContext) -> Iterator[str]:
    if context.sandbox is None:
        yield "the stack's dataops:sandbox config cannot be read: no namespace to be inside"
        return
    names = context.sandbox.names
    folder = names.code_folder
    checks: list[tuple[str, Any, bool]] = []
    if resource.type == SCHEMA:
        name = resource.get("name")
        checks.append(
            ("name", name, isinstance(name, str) and name.startswith(names.schema_prefix))
        )
    elif resource.type == GRANTS:
        # Grants on the sandbox's own schemas only: any other securable is the platform's.
        schema = resource.get("schema")
        if schema is not None:
            inside = isinstance(schema, str) and schema.split(".", 1)[-1].startswith(
                names.schema_prefix
            )
            checks.append(("schema", schema, inside))
        for key in ("catalog", "metastore", "externalLocation", "storageCredential", "table"):
            if resource.get(key) is not None:
                checks.append((key, resource.get(key), False))
    elif resource.type == JOB:
        name = resource.get("name")
        checks.append(("name", name, isinstance(name, str) and names.namespace in name))
    elif resource.type in (NOTEBOOK, WORKSPACE_FILE, DIRECTORY):
        checks.append(("path", resource.get("path"), _under(resource.get("path"), folder)))
    elif resource.type == PERMISSIONS:
        path = resource.get("directoryPath")
        if path is not None:
            checks.append(("directoryPath", path, _under(path, folder)))
        elif resource.get("jobId") is None:
            checks.append(("object", "not a job or the sandbox's folder", False))
    elif resource.type in (SECRET_SCOPE, SECRET):
        key = "name" if resource.type == SECRET_SCOPE else "scope"
        scope = resource.get(key)
        checks.append((key, scope, scope == names.secret_scope))
    for key, value, inside in checks:
        if _known(value) and not inside:
            yield (
                f"{key} {_show(value)} is outside the sandbox's namespace {names.namespace} "
                f"(schemas {names.schema_prefix}*, code under {folder}, jobs named with it)"
            )


# -------------------------------------------------------------------------------- rules

PROD_ONLY = PRODUCTION_TIERS

# ------------------------------------------------------------------------ observability


def _dashboard_viewer_credentials(resource: Resource, context: StackContext) -> Iterator[str]:
    # The provider publishes every dashboard with embed_credentials, which defaults to
    # true (databricks/terraform-provider-databricks, dashboards/resource_dashboard.go).
    embed = resource.get("embedCredentials")
    if embed is not False and _known(embed):
        yield (
            f"embedCredentials is {_show(embed)}: every viewer would query with the "
            "publisher's grants; publish with embed_credentials=False"
        )


def _warehouse_stops_when_idle(resource: Resource, context: StackContext) -> Iterator[str]:
    # auto_stop_mins 0 disables the auto stop; unset is 120 minutes
    # (pulumi_databricks SqlEndpoint, auto_stop_mins).
    minutes = resource.get("autoStopMins")
    number = _number(minutes)
    if number is not None and number <= 0:
        yield f"autoStopMins is {_show(minutes)}: the warehouse would never stop when idle"


RULES: tuple[Rule, ...] = (
    ResourceRule(
        "storage-no-public-access",
        "Storage accounts refuse public blob access and containers are private.",
        frozenset({STORAGE_ACCOUNT, BLOB_CONTAINER}),
        _storage_no_public_access,
    ),
    ResourceRule(
        "storage-tls-1-2",
        "Storage accounts require TLS 1.2 or newer, over HTTPS only.",
        frozenset({STORAGE_ACCOUNT}),
        _storage_tls,
    ),
    ResourceRule(
        "workspace-premium",
        "Databricks workspaces are premium (Unity Catalog, access control).",
        frozenset({WORKSPACE}),
        _workspace_premium,
    ),
    ResourceRule(
        "workspace-no-public-ip",
        "Databricks workspaces use secure cluster connectivity: no public IP on nodes.",
        frozenset({WORKSPACE}),
        _workspace_no_public_ip,
        sat=("NS-6",),
    ),
    ResourceRule(
        "prod-key-vault-purge-protection",
        "The prod Key Vault has purge protection.",
        frozenset({KEY_VAULT}),
        _key_vault_purge_protection,
        tiers=PROD_ONLY,
    ),
    ResourceRule(
        "main-requires-review",
        "main's protection requires at least one approving review and forbids force "
        "pushes and deletion.",
        frozenset({BRANCH_PROTECTION, ADO_MIN_REVIEWERS}),
        _main_requires_review,
    ),
    StackRule(
        "main-is-protected",
        "A stack that creates the repository protects its main branch.",
        _main_is_protected,
    ),
    StackRule(
        "catalogs-bound-to-workspace",
        "Catalogs are ISOLATED and bound to this stack's workspace only.",
        _catalogs_bound,
    ),
    ResourceRule(
        "no-user-grants",
        "Unity Catalog grants name groups, never a user directly.",
        frozenset({GRANTS, GRANT}),
        _no_user_grants,
    ),
    ResourceRule(
        "prod-jobs-run-as-service-principal",
        "Prod jobs run as a service principal.",
        frozenset({JOB}),
        _prod_jobs_run_as_service_principal,
        tiers=PROD_ONLY,
        sat=("IA-7",),
    ),
    StackRule(
        "no-secret-outputs",
        "No stack output exports a secret in clear.",
        _no_secret_outputs,
        tiers=TIERS,
    ),
    ResourceRule(
        "dashboards-use-viewer-credentials",
        "AI/BI dashboards are published without embedded credentials: viewers read what "
        "their own grants allow.",
        frozenset({DASHBOARD}),
        _dashboard_viewer_credentials,
    ),
    ResourceRule(
        "warehouses-stop-when-idle",
        "SQL warehouses stop when idle.",
        frozenset({SQL_WAREHOUSE}),
        _warehouse_stops_when_idle,
    ),
    ResourceRule(
        "prod-data-protected",
        "Prod data resources (storage, Key Vault, metastore, catalogs, schemas) are protected "
        "from deletion.",
        _DATA_TYPES,
        _prod_data_protected,
        tiers=PROD_ONLY,
    ),
    ResourceRule(
        "workspace-private-link",
        "The workspace is VNet-injected, refuses public network access and sends clusters "
        "to the control plane over Private Link (NoAzureDatabricksRules).",
        frozenset({WORKSPACE}),
        _workspace_private_link,
        tiers=PRIVATE_TIERS,
        sat=("NS-3", "NS-4"),
    ),
    StackRule(
        "private-endpoints",
        "The workspace has back-end and front-end databricks_ui_api endpoints; the storage "
        "account (dfs, blob) and the Key Vault have private endpoints.",
        _private_endpoints,
        tiers=PRIVATE_TIERS,
        sat=("NS-3",),
    ),
    StackRule(
        "private-dns",
        "Every private endpoint registers in a private DNS zone, and every zone the stack "
        "creates is linked to a VNet.",
        _private_dns,
        tiers=PRIVATE_TIERS,
        sat=("NS-3",),
    ),
    ResourceRule(
        "storage-private",
        "Storage refuses public network access; its firewall denies by default.",
        frozenset({STORAGE_ACCOUNT}),
        _storage_private,
        tiers=PRIVATE_TIERS,
        sat=("DP-4",),
    ),
    ResourceRule(
        "key-vault-private",
        "The Key Vault refuses public network access; its firewall denies by default.",
        frozenset({KEY_VAULT}),
        _key_vault_private,
        tiers=PRIVATE_TIERS,
    ),
    ResourceRule(
        "workspace-customer-managed-keys",
        "Managed services, managed disks (following key rotation) and the DBFS root are "
        "encrypted with the stack's Key Vault key.",
        frozenset({WORKSPACE}),
        _workspace_customer_managed_keys,
        tiers=CMK_TIERS,
        sat=("DP-3",),
    ),
    ResourceRule(
        "key-rotation",
        "Customer-managed keys are RSA and have a rotation policy that rotates.",
        frozenset({VAULT_KEY}),
        _key_rotates,
    ),
    StackRule(
        "tokens-limited",
        "New tokens expire within 90 days; personal access tokens are off where the tier "
        "signs in with OIDC only.",
        _tokens_limited,
        sat=("IA-5", "IA-4"),
    ),
    StackRule(
        "legacy-features-off",
        "Legacy access (Hive metastore, no-isolation clusters), the DBFS root and mounts, "
        "and the DBFS file browser are off.",
        _legacy_features_off,
        sat=("GOV-10", "GOV-11", "IA-3"),
    ),
    StackRule(
        "enhanced-security-monitoring",
        "Enhanced security monitoring is on.",
        _security_monitoring,
        tiers=MONITORED_TIERS,
        sat=("INFO-40",),
    ),
    StackRule(
        "automatic-cluster-update",
        "Automatic cluster update is on.",
        _automatic_cluster_update,
        tiers=UPDATED_TIERS,
        sat=("GOV-36",),
    ),
    StackRule(
        "serverless-egress-restricted",
        "A network connectivity config with storage endpoint rules is bound to the "
        "workspace, and its network policy restricts serverless egress.",
        _serverless_egress,
        tiers=SERVERLESS_TIERS,
    ),
    StackRule(
        "prod-public-front-end-has-ip-access-list",
        "A prod workspace whose front end is public has an enabled IP access list.",
        _public_front_end_allow_list,
        tiers=PROD_ONLY,
        sat=("NS-5",),
    ),
    StackRule(
        "sandbox-workspace-objects-only",
        "A sandbox creates no Azure resource and no account-level object: workspace objects "
        "of its namespace and the reference to its base stack only.",
        _sandbox_workspace_only,
        tiers=SANDBOX_TIERS,
    ),
    StackRule(
        "sandbox-reads-its-base-only",
        "A sandbox reads its base stack's outputs, never staging's, prod's or another sandbox's.",
        _sandbox_references,
        tiers=SANDBOX_TIERS,
    ),
    ResourceRule(
        "sandbox-schedules-paused",
        "A sandbox job has no running schedule, trigger or continuous run.",
        frozenset({JOB}),
        _sandbox_schedules_paused,
        tiers=SANDBOX_TIERS,
    ),
    ResourceRule(
        "sandbox-cluster-size",
        "A sandbox job's clusters are single-node, of the sandbox's node types, and a run "
        "stops within the sandbox's time limit.",
        frozenset({JOB}),
        _sandbox_cluster_size,
        tiers=SANDBOX_TIERS,
    ),
    ResourceRule(
        "sandbox-jobs-personal",
        "A sandbox job runs as its developer and reports failures to them only.",
        frozenset({JOB}),
        _sandbox_jobs_personal,
        tiers=SANDBOX_TIERS,
    ),
    ResourceRule(
        "sandbox-namespace",
        "Every sandbox object carries its namespace: schemas sbx_<namespace>_*, code under "
        "the developer's sandbox folder, jobs and secret scope named with it.",
        frozenset({SCHEMA, GRANTS, JOB, NOTEBOOK, WORKSPACE_FILE, DIRECTORY, PERMISSIONS})
        | frozenset({SECRET_SCOPE, SECRET}),
        _sandbox_namespace,
        tiers=SANDBOX_TIERS,
    ),
)


def rule_named(name: str) -> Rule:
    for rule in RULES:
        if rule.name == name:
            return rule
    raise KeyError(f"no rule {name!r}; rules: {', '.join(r.name for r in RULES)}")


@dataclass(frozen=True)
class Violation:
    """One violation of one rule, with the enforcement the stack's tier gives it."""

    rule: str
    enforcement: Enforcement
    message: str
    urn: str | None
    resource: str  # "<type> <name>", or "stack" for a violation of the stack as a whole


def evaluate(resources: Sequence[Resource], context: StackContext) -> list[Violation]:
    """Every violation of every rule enabled in the context's tier, in rule order."""
    by_urn = {r.urn: r for r in resources}
    found: list[Violation] = []
    for rule in RULES:
        level = enforcement(rule, context.tier)
        if level is Enforcement.DISABLED:
            continue
        if isinstance(rule, ResourceRule):
            for resource in resources:
                found.extend(
                    Violation(rule.name, level, message, resource.urn, resource.label)
                    for message in rule.violations(resource, context)
                )
        else:
            for finding in rule.violations(resources, context):
                at = by_urn.get(finding.urn) if finding.urn else None
                label = at.label if at else "stack"
                found.append(Violation(rule.name, level, finding.message, finding.urn, label))
    return found
