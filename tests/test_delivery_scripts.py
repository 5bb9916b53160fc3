"""The delivery scripts one at a time, on their edges: bad input refused and inert, errors
that a user can act on, nothing secret printed. Servers bind to 127.0.0.1 only."""

from __future__ import annotations

import importlib.util
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from delivery_fakes import FAKE_JWT, databricks_routes, oidc_routes, serve, teams_routes

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / ".github" / "scripts"
RUN = "https://github.com/acme/dataops/actions/runs/9"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script(name: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --- notify_teams.py --------------------------------------------------------------------------


def _facts(card: dict[str, Any]) -> dict[str, str]:
    body = card["attachments"][0]["content"]["body"]
    return {fact["title"]: fact["value"] for fact in body[1]["facts"]}


def test_the_card_survives_unset_variables() -> None:
    # notify-teams.sh died on `${SHA:0:8}` with SHA unset (set -u).
    with serve(teams_routes()) as teams:
        done = _script(
            "notify_teams.py", {"WEBHOOK_URL": f"{teams.url}/webhook", "TITLE": "t", "RUN_URL": RUN}
        )
        assert done.returncode == 0, done.stderr
        (request,) = teams.requests
    assert _facts(request.json()) == {
        "Stack": "not set",
        "Environment": "not set",
        "Version": "0.1.0 (pyproject.toml, unreleased)",
        "Commit": "not set @ not set",
        "Failed": "see the run",
        "Triggered by": "not set",
    }
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        # What the curl-config version let through: a quote and a newline add a curl option.
        ('https://acme.webhook.office.com/x"\nurl = "http://127.0.0.1:1/', "spaces, quotes"),
        ("https://acme.webhook.office.com/x\n-o /etc/passwd", "spaces, quotes"),
        ("http://acme.webhook.office.com/x", "must use https://"),
        ("https://user:secret@acme.webhook.office.com/x", "credentials"),
        ("file:///etc/passwd", "absolute https:// URL"),
        ("acme.webhook.office.com/x", "absolute https:// URL"),
    ],
)
def test_a_crafted_webhook_url_is_refused_unsent_and_unprinted(url: str, reason: str) -> None:
    with serve(teams_routes()) as teams:
        done = _script("notify_teams.py", {"WEBHOOK_URL": url, "TITLE": "t", "RUN_URL": RUN})
        assert teams.requests == []
    assert done.returncode == 2
    assert reason in done.stderr
    assert url not in done.stdout + done.stderr


def test_a_refusing_webhook_warns_without_the_url() -> None:
    with serve(teams_routes(status=500)) as teams:
        url = f"{teams.url}/webhook"
        done = _script("notify_teams.py", {"WEBHOOK_URL": url, "TITLE": "t", "RUN_URL": RUN})
    assert done.returncode == 0, "a broken webhook must not hide the failure being reported"
    assert done.stderr.strip() == (
        "notify-teams: the Teams webhook refused the notification (HTTP 500)"
    )
    assert url not in done.stdout + done.stderr


def test_no_webhook_is_a_warning() -> None:
    done = _script("notify_teams.py", {"TITLE": "t", "RUN_URL": RUN})
    assert done.returncode == 0
    assert "TEAMS_WEBHOOK_URL is not set" in done.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RUN_URL": RUN}, "TITLE is not set"),
        ({"TITLE": "t"}, "RUN_URL is not set"),
        ({"TITLE": "t", "RUN_URL": "ftp://x/run"}, "RUN_URL must be an absolute https:// URL"),
        ({"TITLE": "t", "RUN_URL": RUN, "VERSION": "1.2"}, "VERSION '1.2' is not a release tag"),
    ],
)
def test_missing_or_malformed_values_send_nothing(env: dict[str, str], message: str) -> None:
    with serve(teams_routes()) as teams:
        done = _script("notify_teams.py", {"WEBHOOK_URL": f"{teams.url}/webhook", **env})
        assert teams.requests == []
    assert done.returncode == 2
    assert message in done.stderr


def test_card_values_are_inert_text() -> None:
    notify = _module("notify_teams")
    card = notify.card(
        {
            "TITLE": "failed\n\x1b[31m on main",
            "RUN_URL": RUN,
            "STACK": "prod",
            "REF": "v1.2.3",
            "SHA": "$(rm -rf /)" + "a" * 40,
            "FAILED": "x" * 2000,
        }
    )
    content = card["attachments"][0]["content"]
    assert content["body"][0]["text"] == "failed  [31m on main"
    facts = _facts(card)
    assert facts["Version"] == "v1.2.3", "a release tag as ref is the version"
    assert facts["Commit"] == "v1.2.3 @ $(rm -rf"
    assert len(facts["Failed"]) == notify.MAX_VALUE


# --- ado_oidc_token.py ------------------------------------------------------------------------

CONNECTION = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def test_the_service_connection_token_is_fetched_and_kept_private(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    with serve(oidc_routes()) as ado:
        done = _script(
            "ado_oidc_token.py",
            {
                "SYSTEM_OIDCREQUESTURI": f"{ado.url}/ado-oidc",
                "SYSTEM_ACCESSTOKEN": "system-access-token",
                "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": CONNECTION,
            },
            "--file",
            str(token_file),
        )
        (request,) = ado.requests
    assert done.returncode == 0, done.stderr
    assert token_file.read_text() == FAKE_JWT
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert request.method == "POST"
    assert request.query == {"api-version": ["7.1"], "serviceConnectionId": [CONNECTION]}
    assert request.headers["authorization"] == "Bearer system-access-token"
    assert request.headers["x-tfs-fedauthredirect"] == "Suppress"
    assert FAKE_JWT not in done.stdout + done.stderr


def test_the_token_is_refreshed_until_stopped(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    with serve(oidc_routes()) as ado:
        process = subprocess.Popen(
            [
                sys.executable,
                str(SCRIPTS / "ado_oidc_token.py"),
                *("--file", str(token_file), "--refresh-every", "1"),
            ],
            env={
                "PATH": os.environ["PATH"],
                "SYSTEM_OIDCREQUESTURI": f"{ado.url}/ado-oidc",
                "SYSTEM_ACCESSTOKEN": "t",
                "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": CONNECTION,
            },
        )
        try:
            deadline = time.monotonic() + 20
            while len(ado.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(ado.requests) >= 2
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert token_file.read_text() == FAKE_JWT


@pytest.mark.parametrize(
    ("env", "status", "message"),
    [
        ({"SYSTEM_ACCESSTOKEN": "t"}, 2, "SYSTEM_OIDCREQUESTURI is not set"),
        ({"SYSTEM_OIDCREQUESTURI": "https://x"}, 2, "SYSTEM_ACCESSTOKEN is not set"),
    ],
)
def test_a_token_request_without_its_variables_is_refused(
    tmp_path: Path, env: dict[str, str], status: int, message: str
) -> None:
    done = _script(
        "ado_oidc_token.py",
        {"AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": CONNECTION, **env},
        "--file",
        str(tmp_path / "token"),
    )
    assert done.returncode == status
    assert message in done.stderr
    assert not (tmp_path / "token").exists()


def test_a_refused_token_request_fails_without_a_file(tmp_path: Path) -> None:
    with serve({("POST", "/ado-oidc"): lambda request: (401, {"message": "no"})}) as ado:
        done = _script(
            "ado_oidc_token.py",
            {
                "SYSTEM_OIDCREQUESTURI": f"{ado.url}/ado-oidc",
                "SYSTEM_ACCESSTOKEN": "t",
                "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": CONNECTION,
            },
            "--file",
            str(tmp_path / "token"),
        )
    assert done.returncode == 1
    assert done.stderr.strip() == "ado_oidc_token: the OIDC endpoint answered HTTP 401"
    assert not (tmp_path / "token").exists()


# --- run_databricks_job.py --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "host"),
    [
        ("adb-1.2.azuredatabricks.net", "https://adb-1.2.azuredatabricks.net"),
        ("https://adb-1.2.azuredatabricks.net/", "https://adb-1.2.azuredatabricks.net"),
        # Was https://http://127.0.0.1:8080.
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("HTTPS://adb-1.azuredatabricks.net", "https://adb-1.azuredatabricks.net"),
    ],
)
def test_workspace_hosts_keep_their_scheme(given: str, host: str) -> None:
    assert _module("run_databricks_job").workspace_host(given) == host


@pytest.mark.parametrize(
    "given", ["ftp://adb-1.net", "https://adb-1.net/path", "adb 1.net", "https://", "  "]
)
def test_workspace_hosts_that_are_not_hosts_are_refused(given: str) -> None:
    with pytest.raises(ValueError, match="workspace host"):
        _module("run_databricks_job").workspace_host(given)


def test_a_refused_sign_in_is_one_line_and_not_a_test_failure() -> None:
    with serve({}) as databricks, serve(oidc_routes()) as oidc:
        databricks.routes.update(databricks_routes(lambda: databricks.url, exchange_status=401))
        done = _script(
            "run_databricks_job.py",
            {
                "DATABRICKS_AUTH_TYPE": "github-oidc",
                "DATABRICKS_CLIENT_ID": "deployer-application-id",
                "DATABRICKS_TOKEN_AUDIENCE": "account-id",
                "ACTIONS_ID_TOKEN_REQUEST_URL": f"{oidc.url}/github-id-token?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
            },
            "--host",
            databricks.url,
            "--job-id",
            "7",
        )
        assert not [r for r in databricks.requests if r.path.endswith("/run-now")]
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("run_databricks_job:")]
    assert line.startswith(f"run_databricks_job: could not start job 7 on {databricks.url}: ")


def test_an_api_error_is_one_line_and_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    from databricks.sdk.errors import NotFound

    class _Jobs:
        def run_now(self, job_id: int) -> None:
            raise NotFound("Job 7 does not exist.")

    class _Workspace:
        jobs = _Jobs()

    runner = _module("run_databricks_job")
    status = runner.main(["--host", "adb-1.azuredatabricks.net", "--job-id", "7"], _Workspace())
    assert status == 3
    assert capsys.readouterr().err == (
        "run_databricks_job: could not start job 7 on https://adb-1.azuredatabricks.net: "
        "Job 7 does not exist.\n"
    )


# --- offline-diff.sh --------------------------------------------------------------------------


def test_an_unknown_base_gives_a_comment_that_says_so(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    done = subprocess.run(
        ["bash", str(SCRIPTS / "offline-diff.sh"), "origin/no-such-branch"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines()[:2] == [
        "<!-- dataops:offline-diff -->",
        "## Offline desired-state diff: base `origin/no-such-branch` not found",
    ]
    assert "fetch-depth: 0" in done.stdout
    assert done.stderr.strip() == (
        "offline-diff: base 'origin/no-such-branch' is not a commit of this clone "
        "(shallow clone, or a branch not fetched?)"
    )


# --- release-command.sh -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PR_NUMBER": "13; echo pwned"}, "is not a pull-request number"),
        ({"REPO": "acme/dataops --jq .", "PR_NUMBER": "13"}, "is not owner/name"),
        ({"PR_NUMBER": "13", "RUN_URL": "javascript:alert(1)"}, "RUN_URL is not a URL"),
    ],
)
def test_release_command_refuses_a_bad_environment(env: dict[str, str], message: str) -> None:
    done = subprocess.run(
        ["bash", str(SCRIPTS / "release-command.sh"), "report"],
        env={
            "PATH": "/usr/bin:/bin",  # no gh: nothing may be called
            "REPO": "acme/dataops",
            "RUN_URL": RUN,
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
