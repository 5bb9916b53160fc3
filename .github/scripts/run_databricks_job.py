"""Run a Databricks job now, wait for it, and exit 0 only if the run succeeded.

CI runs the staging integration-test job with it after every deploy:

    python .github/scripts/run_databricks_job.py --host <workspaceUrl> --job-id <id>

Credentials come from the environment through databricks-sdk's unified auth, never from
arguments: DATABRICKS_AUTH_TYPE=github-oidc with DATABRICKS_CLIENT_ID in GitHub Actions,
DATABRICKS_AUTH_TYPE=file-oidc with the Azure Pipelines service connection's token in
Azure Pipelines (workload identity federation, both as the stack's deployer).

The SDK's waiter returns as soon as a run is TERMINATED, whatever its result, so a failed
test run would look like success to `databricks jobs run-now`; this script judges the
run's result state itself. Exit status: 0 success, 1 the run did not succeed (or did not
finish in time), 2 bad arguments, 3 the job could not be run at all (sign-in refused, no
such job, workspace unreachable): a broken pipeline, not a failed test, in one line.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import OperationFailed
from databricks.sdk.errors.base import DatabricksError
from databricks.sdk.service.jobs import Run, RunResultState

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CANNOT_RUN = 0, 1, 2, 3


def workspace_host(value: str) -> str:
    """The workspace URL as the SDK wants it; stack outputs carry the bare host name.

    A bare host gets https://; a URL keeps its scheme (http:// is a local fake's); any
    other scheme, a path or a space is refused rather than glued into a bad URL.
    """
    value = value.strip().rstrip("/")
    if not value:
        raise ValueError("the workspace host is empty")
    scheme, separator, rest = value.partition("://")
    if not separator:
        scheme, rest = "https", value
    elif scheme.lower() not in ("https", "http"):
        raise ValueError(f"workspace host {value!r}: only https:// (or http://) URLs")
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?", rest):
        raise ValueError(
            f"workspace host {value!r} is not a host name (e.g. adb-1.2.azuredatabricks.net)"
        )
    return f"{scheme.lower()}://{rest}"


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

    try:
        # Sign-in happens here (unified auth reads the environment) and at the first call.
        workspace = client or WorkspaceClient(host=host)
        waiter = workspace.jobs.run_now(job_id=job)
    except (DatabricksError, ValueError) as error:
        # The SDK raises ValueError for an auth configuration it cannot use.
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(
            f"run_databricks_job: could not start job {job} on {host}: {first_line}",
            file=sys.stderr,
        )
        return EXIT_CANNOT_RUN
    print(f"started run {waiter.bind()['run_id']} of job {job} on {host}", flush=True)
    try:
        run = waiter.result(timeout=timedelta(minutes=args.timeout_minutes))
    except (OperationFailed, TimeoutError) as error:
        print(f"run of job {job} did not finish: {error}", file=sys.stderr)
        return EXIT_FAILED
    except DatabricksError as error:
        print(f"run_databricks_job: lost track of the run of job {job}: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    succeeded, line = verdict(run)
    print(line, file=sys.stdout if succeeded else sys.stderr)
    return EXIT_OK if succeeded else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
