"""The git sync runner and notebook: arguments, secrets, output, report, exit codes.

Most tests run a stand-in ``gitsync`` package (written to a temporary code folder) as a
real child process, so what reaches the child's command line and environment is what
the job would pass. One test runs the real ``python -m gitsync`` against a loopback
server that refuses the token, which checks the command line against gitsync's parser.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from dataops_jobs import git_sync
from dataops_jobs import parameters as jp
from dataops_jobs.git_sync import GitSyncSettings, WorkspaceAuth

REPO_ROOT = Path(__file__).resolve().parent.parent
GIT_TOKEN = "ghp_FAKEgitTOKEN0123456789"
WORKSPACE_TOKEN = "dapiFAKEworkspaceTOKEN42"
SETTINGS = GitSyncSettings(
    source_path="/Clients",
    target_repository="https://github.com/datanova/notebook-backup.git",
    target_branch="main",
)
STARTED = datetime(2024, 6, 1, 2, 0, 5, tzinfo=UTC)

# A stand-in gitsync: records what it was given, echoes the secrets (as a careless tool
# might), writes a report and exits with the code the test asks for.
FAKE_MAIN = """
import json, os, sys
args = sys.argv[1:]
report = args[args.index("--report") + 1]
with open(os.environ["FAKE_RECORD"], "w") as f:
    json.dump({"argv": sys.argv, "cwd": os.getcwd(), "env": {
        k: os.environ.get(k) for k in
        ("GITSYNC_GIT_TOKEN", "DATABRICKS_HOST", "DATABRICKS_TOKEN", "PYTHONPATH")}}, f)
print("exporting with token " + os.environ.get("GITSYNC_GIT_TOKEN", "<none>"))
print("workspace token " + os.environ.get("DATABRICKS_TOKEN", "<none>"), file=sys.stderr)
code = int(os.environ.get("FAKE_EXIT", "0"))
status = {0: "ok", 3: "incomplete"}.get(code, "error")
with open(report, "w") as f:
    json.dump({"status": status, "source": "/Clients"}, f)
if code in (0, 3):
    print(f"gitsync {status}: /Clients -> repo main, 3 scanned, +1 ~0 >0 -0 =2, "
          "0 failed, 0 skipped, 1 commits, 0.1s")
else:
    print("gitsync: error: rejected push", file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture
def code_root(tmp_path: Path) -> Path:
    root = tmp_path / "code"
    (root / "gitsync").mkdir(parents=True)
    (root / "gitsync" / "__init__.py").write_text("", encoding="utf-8")
    (root / "gitsync" / "__main__.py").write_text(FAKE_MAIN, encoding="utf-8")
    return root


def run_fake(
    code_root: Path, tmp_path: Path, *, exit_code: int = 0, git_token: str | None = GIT_TOKEN
) -> tuple[git_sync.GitSyncOutcome, list[str], dict[str, Any]]:
    record = tmp_path / "record.json"
    logged: list[str] = []
    outcome = git_sync.run_git_sync(
        SETTINGS,
        code_root=code_root,
        git_token=git_token,
        workspace=WorkspaceAuth("https://adb-1.azuredatabricks.net", WORKSPACE_TOKEN),
        report_dir=tmp_path / "reports",
        log=logged.append,
        base_env={
            "PATH": "/usr/bin:/bin",
            "FAKE_RECORD": str(record),
            "FAKE_EXIT": str(exit_code),
            "GITSYNC_GIT_TOKEN": "token-of-the-cluster-env",
        },
        now=lambda: STARTED,
    )
    return outcome, logged, json.loads(record.read_text(encoding="utf-8"))


def test_the_command_line_names_what_to_sync_and_nothing_secret() -> None:
    assert git_sync.gitsync_argv("/py", SETTINGS, Path("/tmp/r.json")) == [
        "/py",
        "-m",
        "gitsync",
        "run",
        "--source",
        "/Clients",
        "--repo",
        "https://github.com/datanova/notebook-backup.git",
        "--branch",
        "main",
        "--report",
        "/tmp/r.json",
        "--progress",
        "never",
    ]


def test_the_child_gets_the_secrets_only_in_its_environment(
    code_root: Path, tmp_path: Path
) -> None:
    _, _, seen = run_fake(code_root, tmp_path)
    assert seen["env"] == {
        "GITSYNC_GIT_TOKEN": GIT_TOKEN,
        "DATABRICKS_HOST": "https://adb-1.azuredatabricks.net",
        "DATABRICKS_TOKEN": WORKSPACE_TOKEN,
        "PYTHONPATH": str(code_root),
    }
    argv = " ".join(seen["argv"])
    assert GIT_TOKEN not in argv and WORKSPACE_TOKEN not in argv
    assert seen["cwd"] == str(code_root)


def test_the_clusters_own_git_token_is_not_passed_on(code_root: Path, tmp_path: Path) -> None:
    _, _, seen = run_fake(code_root, tmp_path, git_token=None)
    assert seen["env"]["GITSYNC_GIT_TOKEN"] is None


def test_secrets_in_the_childs_output_are_masked(code_root: Path, tmp_path: Path) -> None:
    outcome, logged, _ = run_fake(code_root, tmp_path)
    text = "\n".join(logged)
    assert GIT_TOKEN not in text and WORKSPACE_TOKEN not in text
    assert "exporting with token [REDACTED]" in logged
    assert "workspace token [REDACTED]" in logged
    assert GIT_TOKEN not in outcome.to_json() and WORKSPACE_TOKEN not in outcome.to_json()


def test_a_successful_run_keeps_its_summary_and_report(code_root: Path, tmp_path: Path) -> None:
    outcome, logged, _ = run_fake(code_root, tmp_path)
    kept = tmp_path / "reports" / "gitsync-20240601T020005Z.json"
    assert outcome == git_sync.GitSyncOutcome(
        exit_code=0,
        summary="gitsync ok: /Clients -> repo main, 3 scanned, +1 ~0 >0 -0 =2, 0 failed, "
        "0 skipped, 1 commits, 0.1s",
        report_path=kept,
        report={"status": "ok", "source": "/Clients"},
    )
    assert json.loads(kept.read_text(encoding="utf-8"))["status"] == "ok"
    assert logged[0] == (
        "running: -m gitsync run --source /Clients --repo "
        "https://github.com/datanova/notebook-backup.git --branch main --report "
        f"{logged[0].split('--report ')[1].split(' ')[0]} --progress never"
    )


@pytest.mark.parametrize(
    ("exit_code", "message"),
    [
        (
            3,
            "gitsync exited 3 (incomplete): gitsync incomplete: /Clients -> repo main, "
            "3 scanned, +1 ~0 >0 -0 =2, 0 failed, 0 skipped, 1 commits, 0.1s",
        ),
        (1, "gitsync exited 1 (error): gitsync: error: rejected push"),
    ],
)
def test_a_non_zero_exit_is_a_failure_with_its_line(
    code_root: Path, tmp_path: Path, exit_code: int, message: str
) -> None:
    outcome, _, _ = run_fake(code_root, tmp_path, exit_code=exit_code)
    assert (outcome.ok, outcome.failure_message()) == (False, message)
    assert outcome.report_path == tmp_path / "reports" / "gitsync-20240601T020005Z.json"


def test_a_run_without_a_report_keeps_none(tmp_path: Path) -> None:
    root = tmp_path / "code"
    (root / "gitsync").mkdir(parents=True)
    (root / "gitsync" / "__main__.py").write_text("import sys; sys.exit(2)", encoding="utf-8")
    outcome = git_sync.run_git_sync(
        SETTINGS, code_root=root, git_token=None, report_dir=tmp_path / "r", log=lambda _: None
    )
    assert (outcome.exit_code, outcome.report, outcome.report_path) == (2, None, None)
    assert outcome.failure_message() == "gitsync exited 2 (bad arguments): no output"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"target_repository": "https://x-access-token:ghp_abc@github.com/o/r.git"},
            "target_repository carries credentials",
        ),
        ({"target_repository": "https://ghp_abc@github.com/o/r.git"}, "carries credentials"),
        ({"source_path": "Clients"}, "source_path 'Clients' is not an absolute workspace path"),
        ({"target_branch": " "}, "target_branch is empty"),
    ],
)
def test_settings_refuse_what_would_leak_or_mislead(settings: dict[str, str], message: str) -> None:
    values = {"source_path": "/Clients", "target_repository": "https://h/o/r.git"} | settings
    with pytest.raises(ValueError, match=message):
        GitSyncSettings(**values)


def test_ssh_and_local_remotes_are_accepted() -> None:
    assert GitSyncSettings("/Clients", "git@github.com:datanova/backup.git").target_branch == "main"
    assert GitSyncSettings("/Clients", "/srv/git/backup.git").target_repository


def test_the_code_root_holds_the_package_and_the_notebooks() -> None:
    root = git_sync.code_root()
    assert (root / "dataops_jobs" / "git_sync.py").is_file()
    assert (root / jp.GIT_SYNC.path).is_file()


# ----------------------------------------------------------------- the notebook itself


class NotebookExitedError(Exception):
    pass


class FakeWidgets:
    def __init__(self, job_parameters: dict[str, str]) -> None:
        self.job_parameters = job_parameters
        self.defaults: dict[str, str] = {}

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:  # noqa: N803
        self.defaults[name] = defaultValue

    def get(self, name: str) -> str:
        return self.job_parameters.get(name, self.defaults[name])


class FakeSecrets:
    def __init__(self) -> None:
        self.reads: list[tuple[str, str]] = []

    def get(self, scope: str, key: str) -> str:
        self.reads.append((scope, key))
        return GIT_TOKEN


class FakeContext:
    """dbutils.notebook.entry_point.getDbutils().notebook().getContext().apiToken().get()"""

    def getDbutils(self) -> FakeContext:
        return self

    def notebook(self) -> FakeContext:
        return self

    def getContext(self) -> FakeContext:
        return self

    def apiToken(self) -> FakeContext:
        return self

    def get(self) -> str:
        return WORKSPACE_TOKEN


class FakeNotebook:
    entry_point = FakeContext()

    def exit(self, value: str) -> None:
        raise NotebookExitedError(value)


class FakeDbutils:
    def __init__(self, job_parameters: dict[str, str]) -> None:
        self.widgets = FakeWidgets(job_parameters)
        self.secrets = FakeSecrets()
        self.notebook = FakeNotebook()


class FakeSpark:
    class conf:  # noqa: N801 - spark.conf
        @staticmethod
        def get(key: str) -> str:
            assert key == "spark.databricks.workspaceUrl"
            return "adb-1.azuredatabricks.net"


def run_notebook(job_parameters: dict[str, str]) -> tuple[FakeDbutils, dict[str, Any]]:
    """Run git_sync.py as the job would; returns the fake dbutils and the exit value."""
    dbutils = FakeDbutils(job_parameters)
    source = (REPO_ROOT / "notebooks" / jp.GIT_SYNC.path).read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"spark": FakeSpark(), "dbutils": dbutils, "__name__": "__main__"}
    with pytest.raises(NotebookExitedError) as exited:
        exec(compile(source, jp.GIT_SYNC.path, "exec"), namespace)
    return dbutils, json.loads(str(exited.value))


@pytest.fixture
def notebook_env(
    code_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    monkeypatch.setattr(git_sync, "code_root", lambda: code_root)
    monkeypatch.setenv("FAKE_RECORD", str(tmp_path / "record.json"))
    yield {
        jp.SOURCE_PATH: "/Clients",
        jp.TARGET_REPOSITORY: "https://github.com/datanova/notebook-backup.git",
        jp.REPORT_DIR: str(tmp_path / "reports"),
    }


def test_the_notebook_reads_the_token_from_the_secret_scope(
    notebook_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dbutils, result = run_notebook(
        notebook_env | {jp.SECRET_SCOPE: "kv-datanova", jp.SECRET_KEY: "git-pat"}
    )
    assert dbutils.secrets.reads == [("kv-datanova", "git-pat")]
    assert (result["task"], result["exit_code"], result["report"]["status"]) == (
        "git_sync",
        0,
        "ok",
    )
    seen = json.loads((tmp_path / "record.json").read_text(encoding="utf-8"))
    assert seen["env"]["GITSYNC_GIT_TOKEN"] == GIT_TOKEN
    assert seen["env"]["DATABRICKS_HOST"] == "https://adb-1.azuredatabricks.net"
    printed = capsys.readouterr()
    assert GIT_TOKEN not in printed.out + printed.err
    assert WORKSPACE_TOKEN not in printed.out + printed.err
    assert printed.out.splitlines()[-1].startswith("gitsync ok: /Clients -> repo main")


def test_the_notebook_uses_the_default_scope_and_key(notebook_env: dict[str, str]) -> None:
    dbutils, _ = run_notebook(notebook_env)
    assert dbutils.secrets.reads == [(jp.DEFAULT_SECRET_SCOPE, jp.DEFAULT_GIT_TOKEN_KEY)]


def test_the_notebook_without_a_scope_reads_no_secret(
    notebook_env: dict[str, str], tmp_path: Path
) -> None:
    dbutils, _ = run_notebook(notebook_env | {jp.SECRET_SCOPE: ""})
    assert dbutils.secrets.reads == []
    seen = json.loads((tmp_path / "record.json").read_text(encoding="utf-8"))
    assert seen["env"]["GITSYNC_GIT_TOKEN"] is None


def test_the_notebook_fails_the_task_on_a_non_zero_exit(
    notebook_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EXIT", "1")
    with pytest.raises(git_sync.GitSyncError, match=r"^gitsync exited 1 \(error\): gitsync: error"):
        run_notebook(notebook_env)


# ------------------------------------------------------- against the real gitsync CLI


class _RefusingWorkspace(BaseHTTPRequestHandler):
    """Answers every request like a workspace that does not know the token."""

    seen_tokens: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen_tokens.append(self.headers.get("Authorization", ""))
        body = json.dumps({"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def refusing_workspace() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingWorkspace)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_real_gitsync_accepts_the_command_line_and_fails_the_run(
    refusing_workspace: str, tmp_path: Path
) -> None:
    if not (REPO_ROOT / "gitsync" / "__main__.py").is_file():
        pytest.skip("the gitsync package is not in this checkout yet")
    remote = tmp_path / "backup.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    logged: list[str] = []
    _RefusingWorkspace.seen_tokens.clear()
    outcome = git_sync.run_git_sync(
        GitSyncSettings("/Clients", str(remote)),
        code_root=REPO_ROOT,
        git_token=GIT_TOKEN,
        workspace=WorkspaceAuth(refusing_workspace, WORKSPACE_TOKEN),
        report_dir=tmp_path / "reports",
        log=logged.append,
        python=sys.executable,
        base_env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    # 1 is gitsync's "error" (bad token); 2 would mean it refused the arguments.
    assert outcome.exit_code == 1, logged
    assert outcome.summary.startswith("gitsync: error: ")
    assert outcome.report is not None and outcome.report["status"] == "error"
    assert f"Bearer {WORKSPACE_TOKEN}" in _RefusingWorkspace.seen_tokens
    assert all(GIT_TOKEN not in line and WORKSPACE_TOKEN not in line for line in logged)
