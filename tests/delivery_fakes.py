"""Local fakes of the services the delivery loop talks to, on 127.0.0.1 only.

- Teams: a webhook that records every card it is sent.
- GitHub Actions' OIDC endpoint (ACTIONS_ID_TOKEN_REQUEST_URL) and Azure DevOps' (the
  service connection's oidctoken endpoint): both hand out a JWT-shaped token.
- Databricks: the workspace's host metadata, OAuth metadata and token exchange (/oidc/v1/token, what
  github-oidc and file-oidc auth call), jobs/run-now and jobs/runs/get, with the JSON
  shapes of the Jobs API 2.x, answering with the run result the test chose.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAKE_JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJmYWtlIn0.c2ln"
# The repository and environment variables the workflows read (vars.*), as a configured
# repository has them.
REPOSITORY_VARS = {
    "ARM_CLIENT_ID": "00000000-0000-0000-0000-0000000000a1",
    "ARM_TENANT_ID": "00000000-0000-0000-0000-0000000000a2",
    "ARM_SUBSCRIPTION_ID": "00000000-0000-0000-0000-0000000000a3",
    "DATABRICKS_CLIENT_ID": "deployer-application-id",
    "DATABRICKS_ACCOUNT_ID": "00000000-0000-0000-0000-0000000000a4",
    "PULUMI_BACKEND_URL": "azblob://pulumi-state",
    "DATAOPS_APP_ID": "123",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


# A route answers (status, JSON body).
Route = Callable[[Request], tuple[int, Any]]


@dataclass
class FakeServer:
    routes: dict[tuple[str, str], Route]
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def find(self, method: str, path: str) -> Route | None:
        for (route_method, prefix), route in self.routes.items():
            if route_method == method and path.startswith(prefix):
                return route
        return None


@contextmanager
def serve(routes: dict[tuple[str, str], Route]) -> Iterator[FakeServer]:
    """A threaded HTTP server on 127.0.0.1 (an ephemeral port) answering `routes` by
    method and path prefix; 404 for anything else. Every request is recorded."""
    fake = FakeServer(routes)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parsed = urllib.parse.urlsplit(self.path)
            request = Request(
                self.command,
                parsed.path,
                urllib.parse.parse_qs(parsed.query),
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            fake.requests.append(request)
            route = fake.find(self.command, parsed.path)
            status, answer = route(request) if route else (404, {"error": "not found"})
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _handle  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def teams_routes(status: int = 200) -> dict[tuple[str, str], Route]:
    return {("POST", "/webhook"): lambda request: (status, {})}


def oidc_routes() -> dict[tuple[str, str], Route]:
    """GitHub's id-token endpoint ({"value": jwt}) and Azure DevOps' ({"oidcToken": jwt})."""
    return {
        ("GET", "/github-id-token"): lambda request: (200, {"value": FAKE_JWT}),
        ("POST", "/ado-oidc"): lambda request: (200, {"oidcToken": FAKE_JWT}),
    }


def databricks_routes(
    base: Callable[[], str], result: str = "SUCCESS", exchange_status: int = 200
) -> dict[tuple[str, str], Route]:
    """A workspace whose run of any job ends with `result` (SUCCESS, FAILED, …)."""

    def metadata(request: Request) -> tuple[int, Any]:
        return 200, {
            "issuer": f"{base()}/oidc",
            "authorization_endpoint": f"{base()}/oidc/v1/authorize",
            "token_endpoint": f"{base()}/oidc/v1/token",
        }

    def exchange(request: Request) -> tuple[int, Any]:
        if exchange_status != 200:
            return exchange_status, {
                "error": "invalid_client",
                "error_description": "no federation policy matches the token",
            }
        return 200, {"access_token": "fake-access", "token_type": "Bearer", "expires_in": 3600}

    def run_now(request: Request) -> tuple[int, Any]:
        return 200, {"run_id": 42, "number_in_job": 42}

    def run_get(request: Request) -> tuple[int, Any]:
        return 200, {
            "job_id": 7,
            "run_id": 42,
            "run_page_url": f"{base()}/#job/7/run/42",
            "state": {
                "life_cycle_state": "TERMINATED",
                "result_state": result,
                "state_message": "" if result == "SUCCESS" else "Task integration_tests failed",
            },
            "status": {
                "state": "TERMINATED",
                "termination_details": {
                    "code": "SUCCESS" if result == "SUCCESS" else "RUN_EXECUTION_ERROR",
                    "type": "SUCCESS" if result == "SUCCESS" else "CLIENT_ERROR",
                },
            },
        }

    def host_metadata(request: Request) -> tuple[int, Any]:
        # What a workspace answers at /.well-known/databricks-config (SDK host discovery).
        return 200, {"oidc_endpoint": f"{base()}/oidc", "workspace_id": "1234567890"}

    return {
        ("GET", "/.well-known/databricks-config"): host_metadata,
        ("GET", "/oidc/.well-known/oauth-authorization-server"): metadata,
        ("POST", "/oidc/v1/token"): exchange,
        ("POST", "/api/2.1/jobs/run-now"): run_now,
        ("POST", "/api/2.2/jobs/run-now"): run_now,
        ("GET", "/api/2.1/jobs/runs/get"): run_get,
        ("GET", "/api/2.2/jobs/runs/get"): run_get,
    }
