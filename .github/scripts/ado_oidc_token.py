"""Keep a fresh Azure Pipelines OIDC token of a service connection in a file.

Databricks signs the pipeline in as the stack's deployer service principal by exchanging
this token (federation policy: the service connection's issuer and subject, audience
api://AzureADTokenExchange; components/source_control.py and identity.py create both
sides). The Databricks providers and SDK read it with

    DATABRICKS_AUTH_TYPE=file-oidc DATABRICKS_OIDC_TOKEN_FILEPATH=<file> DATABRICKS_CLIENT_ID=<id>

and read the file again whenever they exchange a new Databricks token. The token handed to
a task (addSpnToEnvironment's idToken) lives about ten minutes and a deploy can take
hours, so this fetches a new one from the pipeline's OIDC endpoint, once or every
--refresh-every seconds until the script that started it ends:

    .venv/bin/python .github/scripts/ado_oidc_token.py --file "$token_file"
    .venv/bin/python .github/scripts/ado_oidc_token.py --file "$token_file" --refresh-every 240 &

The request is the one Azure Identity's AzurePipelinesCredential makes: POST
$SYSTEM_OIDCREQUESTURI?api-version=7.1&serviceConnectionId=<id>, bearer
$SYSTEM_ACCESSTOKEN, answer {"oidcToken": ...}
(azure-identity, azure/identity/_credentials/azure_pipelines.py). The connection id comes
from AZURESUBSCRIPTION_SERVICE_CONNECTION_ID, which the Azure tasks (AzureCLI@2) set for
the connection they signed in with and clear afterwards (microsoft/azure-pipelines-tasks),
the variable Azure Identity's samples and the azuredevops provider's
oidcAzureServiceConnectionId read too; or from --connection-id.

Exit status: 0 written (or, refreshing, parent gone), 1 the endpoint refused, 2 bad
environment. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

API_VERSION = "7.1"
EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT = 0, 1, 2
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class TokenError(RuntimeError):
    """The endpoint gave no usable token; the message never contains a token."""


def token_request(env: Mapping[str, str], connection_id: str) -> urllib.request.Request:
    try:
        base, access_token = env["SYSTEM_OIDCREQUESTURI"], env["SYSTEM_ACCESSTOKEN"]
    except KeyError as missing:
        raise ValueError(
            f"{missing.args[0]} is not set (map $(System.AccessToken) into the step's env)"
        ) from None
    if not _GUID.match(connection_id):
        raise ValueError(f"service connection id {connection_id!r} is not a GUID")
    if not base.startswith("https://") and not base.startswith("http://127.0.0.1"):
        raise ValueError("SYSTEM_OIDCREQUESTURI is not an https:// URL")
    query = urllib.parse.urlencode(
        {"api-version": API_VERSION, "serviceConnectionId": connection_id}
    )
    return urllib.request.Request(
        f"{base.rstrip('/')}?{query}",
        data=b"",
        method="POST",
        headers={
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
            # No sign-in redirect for automation (as AzurePipelinesCredential asks).
            "X-TFS-FedAuthRedirect": "Suppress",
        },
    )


def fetch_token(request: urllib.request.Request) -> str:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raise TokenError(f"the OIDC endpoint answered HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        raise TokenError(f"the OIDC endpoint could not be read ({type(error).__name__})") from None
    token = answer.get("oidcToken") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not _JWT.match(token):
        raise TokenError("the OIDC endpoint's answer has no oidcToken")
    return token


def write_token(path: Path, token: str) -> None:
    """Replace the file in one rename, readable by this user only: a reader never sees
    half a token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            stream.write(token)
        Path(temporary).chmod(0o600)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, type=Path, help="where the token is kept")
    parser.add_argument(
        "--connection-id",
        default=env.get("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", ""),
        help="service connection id (default: AZURESUBSCRIPTION_SERVICE_CONNECTION_ID)",
    )
    parser.add_argument(
        "--refresh-every", type=int, default=0, help="seconds between refreshes (0: once)"
    )
    args = parser.parse_args(argv)
    try:
        request = token_request(env, args.connection_id)
    except ValueError as error:
        print(f"ado_oidc_token: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parent = os.getppid()
    while True:
        try:
            write_token(args.file, fetch_token(request))
        except TokenError as error:
            print(f"ado_oidc_token: {error}", file=sys.stderr)
            if not args.refresh_every:
                return EXIT_REFUSED
            # The token still in the file is valid for a while: retry soon, do not stop.
            time.sleep(min(30, args.refresh_every))
            if os.getppid() != parent:
                return EXIT_OK
            continue
        if not args.refresh_every:
            return EXIT_OK
        time.sleep(args.refresh_every)
        if os.getppid() != parent:  # the script that started it has ended
            return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
