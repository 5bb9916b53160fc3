"""Credentials where they do not belong: in plain values, or under ``secure:`` unencrypted.

Every non-secret value of a stack is printed by ``plan --json``, ``diff`` and the
pull-request comment, so a token pasted into one (most often inside a URL) leaks the day
it is committed. A provider's own credential keys (``github:token``...) must be secure
values for the same reason. And a ``secure:`` value must look like what ``pulumi config
set --secret`` writes: a plaintext pasted there is committed in clear.

Plain data in, plain data out: no Pulumi here.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

# The providers' credential keys (their config schemas mark them secret: the `config/vars.py`
# of pulumi_github, pulumi_databricks, pulumi_azure_native and pulumi_azuredevops).
PROVIDER_SECRET_KEYS = frozenset(
    {
        "github:token",
        "github:appAuth",
        "databricks:token",
        "databricks:password",
        "databricks:clientSecret",
        "databricks:azureClientSecret",
        "databricks:googleCredentials",
        "databricks:actionsIdTokenRequestToken",
        "azure-native:clientSecret",
        "azure-native:clientCertificatePassword",
        "azure-native:oidcToken",
        "azure-native:oidcRequestToken",
        "azuredevops:personalAccessToken",
        "azuredevops:clientSecret",
        "azuredevops:clientCertificate",
        "azuredevops:clientCertificatePassword",
        "azuredevops:oidcToken",
        "azuredevops:oidcRequestToken",
    }
)

# Shapes of credentials, as their issuers document them; what each is, for the message.
_CREDENTIAL_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # https://user:password@host (RFC 3986 userinfo with a password).
    # (Anchored on '://', not on the scheme: a scheme pattern would rescan long values.)
    ("a password inside a URL", re.compile(r"://[^/\s@:]*:[^/\s@]+@")),
    # https://<token>@host: GitHub and others take a token as the user name.
    ("a token inside a URL", re.compile(r"://[A-Za-z0-9_-]{30,}@")),
    # Databricks personal access tokens: dapi + 32 hex digits.
    ("a Databricks personal access token", re.compile(r"dapi[0-9a-f]{32}")),
    # GitHub tokens, https://github.blog/engineering/platform-security/
    # behind-githubs-new-authentication-token-formats/
    ("a GitHub token", re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}")),
    # Slack tokens: https://api.slack.com/concepts/token-types
    ("a Slack token", re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}")),
    # A JSON Web Token (OAuth access tokens, Entra ID tokens): base64url({"...}.{"...}.sig
    ("a JSON Web Token", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")),
    # Azure storage connection strings and shared access signatures.
    ("an Azure storage account key", re.compile(r"AccountKey=[^;\s]+", re.IGNORECASE)),
    ("an Azure shared access signature", re.compile(r"[?&]sig=[A-Za-z0-9%+/=]{16,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)


def credential_kind(text: str) -> str | None:
    """What credential ``text`` holds (``'a GitHub token'``), or None."""
    for kind, pattern in _CREDENTIAL_SHAPES:
        if pattern.search(text):
            return kind
    return None


def credentials_in(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path below ``value``, kind) of every credential in a plain config value, keys too."""
    if isinstance(value, str):
        kind = credential_kind(value)
        if kind:
            yield path, kind
    elif isinstance(value, Mapping):
        for key, item in value.items():
            key_kind = credential_kind(key) if isinstance(key, str) else None
            if key_kind:
                yield (*path, str(key)), key_kind
            yield from credentials_in(item, (*path, str(key)))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from credentials_in(item, (*path, index))


# What `pulumi config set --secret` writes (pulumi/pulumi, sdk/go/common/resource/config/
# crypt.go and pkg/secrets/service/manager.go): with a passphrase, "v1:" + base64(12-byte
# AES-GCM nonce) + ":" + base64(ciphertext and its 16-byte tag); with Pulumi Cloud or a
# cloud KMS, base64 of the service's ciphertext. Either way authenticated encryption, so
# at least 16 bytes (the tag) once decoded.
_PASSPHRASE_CIPHERTEXT = re.compile(r"v1:([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)")
_NONCE_BYTES = 12
_TAG_BYTES = 16
# The shipped stack files' stand-in until a team runs `pulumi config set --secret`: no
# secret in it, and `pulumi up` refuses it (its last part is no base64), so a stack
# cannot deploy with it; the offline engine accepts it so the examples validate.
SHIPPED_PLACEHOLDER = "v1:Zm9vYmFyYmF6cXV4:placeholder-encrypted-by-pulumi-config-set-secret"


def _base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def ciphertext_problem(value: Any) -> str | None:
    """Why ``value`` (what follows ``secure:``) is no Pulumi ciphertext, or None."""
    if value == SHIPPED_PLACEHOLDER:
        return None
    if not isinstance(value, str):
        return "is not a string"
    kind = credential_kind(value)
    if kind:
        return f"holds {kind} in plain text"
    passphrase = _PASSPHRASE_CIPHERTEXT.fullmatch(value)
    if passphrase:
        nonce, sealed = _base64(passphrase.group(1)), _base64(passphrase.group(2))
        if (
            nonce is not None
            and len(nonce) == _NONCE_BYTES
            and sealed
            and len(sealed) >= _TAG_BYTES
        ):
            return None
    elif not value.startswith("v1:"):
        sealed = _base64(value)
        if sealed is not None and len(sealed) >= _TAG_BYTES:
            return None
    return "is not a Pulumi ciphertext (a plain value pasted under secure:?)"
