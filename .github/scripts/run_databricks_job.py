"""Run a Databricks job now, wait for it, and exit 0 only if the run succeeded.

CI runs the staging integration-test job with it after every deploy:

    python .github/scripts/run_databricks_job.py --host <workspaceUrl> --job-id <id>

Credentials come from the environment through databricks-sdk's unified auth, never from
arguments: DATABRICKS_AUTH_TYPE=github-oidc with DATABRICKS_CLIENT_ID in GitHub Actions
(workload identity federation), DATABRICKS_AUTH_TYPE=azure-cli in Azure Pipelines.

The SDK's waiter returns as soon as a run is TERMINATED, whatever its result, so a failed
test run would look like success to `databricks jobs run-now`; this script judges the
run's result state itself. Exit status: 0 success, 1 the run did not succeed (or did not
finish in time), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import OperationFailed
from databricks.sdk.service.jobs import Run, RunResultState

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def workspace_host(value: str) -> str:
    """The workspace URL as the SDK wants it; stack outputs carry the bare host name."""
    value = value.strip().rstrip("/")
    if not value:
        raise ValueError("the workspace host is empty")
    return value if value.startswith("https://") else f"https://{value}"


def job_id(value: str) -> int:
    """The numeric job id of a stack output; an empty output means the job is not deployed."""
    value = value.strip()
    if not value.isdigit():
        raise ValueError(
            f"job id {value!r} is not a number: does the stack export integrationTestJobId?"
        )
    return int(value)


def verdict(run: Run) -> tuple[bool, str]:
    """Whether a finished run succeeded, and a one-line account of it."""
    state = run.state
    result = state.result_state if state else None
    lifecycle = state.life_cycle_state.value if state and state.life_cycle_state else "UNKNOWN"
    message = (state.state_message or "").strip() if state else ""
    outcome = result.value if result else lifecycle
    line = f"run {run.run_id} {outcome}"
    if message:
        line += f": {message}"
    if run.run_page_url:
        line += f" ({run.run_page_url})"
    return result == RunResultState.SUCCESS, line


def main(argv: Sequence[str] | None = None, client: WorkspaceClient | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run a Databricks job now; exit 0 only if the run succeeded."
    )
    parser.add_argument("--host", required=True, help="workspace URL (stack output workspaceUrl)")
    parser.add_argument("--job-id", required=True, help="job id (e.g. integrationTestJobId)")
    parser.add_argument(
        "--timeout-minutes", type=int, default=90, help="give up waiting after this long"
    )
    args = parser.parse_args(argv)
    try:
        host, job = workspace_host(args.host), job_id(args.job_id)
    except ValueError as error:
        print(f"run_databricks_job: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT

    workspace = client or WorkspaceClient(host=host)
    waiter = workspace.jobs.run_now(job_id=job)
    print(f"started run {waiter.bind()['run_id']} of job {job} on {host}", flush=True)
    try:
        run = waiter.result(timeout=timedelta(minutes=args.timeout_minutes))
    except (OperationFailed, TimeoutError) as error:
        print(f"run of job {job} did not finish: {error}", file=sys.stderr)
        return EXIT_FAILED
    succeeded, line = verdict(run)
    print(line, file=sys.stdout if succeeded else sys.stderr)
    return EXIT_OK if succeeded else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
