"""The latency SLO: run the gold query on the environment's SQL warehouse, fail if slow.

CI runs it after the staging deploy, next to the integration-test job:

    python .github/scripts/sql_latency_slo.py --host <workspaceUrl> \
        --warehouse-id <warehouseId> --catalog staging --slo-seconds 5

It submits the query through the Statement Execution API (databricks-sdk,
``statement_execution``), waits for its result and measures the wall-clock time from
submission to a finished result, as a dashboard tile would see it. A warm-up statement
runs first and is not measured, so a warehouse that was stopped (auto-stop) does not
count its start-up against the query. Credentials come from the environment through
databricks-sdk's unified auth (as for run_databricks_job.py), never from arguments.

Exit status: 0 within the SLO; 1 slower than the SLO, failed, or no result in time (the
statement is then cancelled); 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import (
    ExecuteStatementRequestOnWaitTimeout,
    StatementResponse,
    StatementState,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_SLO_SECONDS = 5.0
# The gold query the Platform health dashboard's revenue tile runs (dashboards/).
GOLD_QUERY = (
    "SELECT order_date, segment, orders, customers, revenue "
    "FROM gold.daily_revenue_by_segment ORDER BY order_date DESC, segment LIMIT 1000"
)
WARMUP_QUERY = "SELECT 1"
# The API waits synchronously between 5 and 50 seconds, or not at all ("0s"); past the
# wait, CONTINUE leaves the statement running for polling (execute_statement,
# wait_timeout / on_wait_timeout, databricks/sdk/service/sql.py).
SYNC_WAIT = "5s"
POLL_SECONDS = 0.2
FINISHED = {
    StatementState.SUCCEEDED,
    StatementState.FAILED,
    StatementState.CANCELED,
    StatementState.CLOSED,
}


@dataclass(frozen=True)
class Measurement:
    state: str  # SUCCEEDED | FAILED | CANCELED | CLOSED | TIMEOUT
    seconds: float
    statement_id: str | None
    rows: int | None = None
    error: str | None = None


def workspace_host(value: str) -> str:
    value = value.strip().rstrip("/")
    if not value:
        raise ValueError("the workspace host is empty")
    if value.startswith(("https://", "http://")):
        return value
    return f"https://{value}"


def warehouse_id(value: str) -> str:
    value = value.strip()
    if not value or not value.isalnum():
        raise ValueError(f"warehouse id {value!r} is not an id: does the stack export warehouseId?")
    return value


def _state(response: StatementResponse) -> StatementState | None:
    return response.status.state if response.status else None


def run_statement(
    client: WorkspaceClient,
    statement: str,
    *,
    warehouse: str,
    catalog: str | None,
    timeout_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Measurement:
    """Submit ``statement``, wait for it to finish (at most ``timeout_seconds``), time it."""
    api = client.statement_execution
    started = clock()
    response = api.execute_statement(
        statement,
        warehouse,
        catalog=catalog,
        wait_timeout=SYNC_WAIT,
        on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CONTINUE,
    )
    statement_id = response.statement_id
    while _state(response) not in FINISHED:
        if clock() - started > timeout_seconds:
            if statement_id:
                api.cancel_execution(statement_id)
            return Measurement("TIMEOUT", clock() - started, statement_id)
        sleep(POLL_SECONDS)
        if not statement_id:
            break
        response = api.get_statement(statement_id)
    elapsed = clock() - started
    state = _state(response)
    if state is StatementState.SUCCEEDED:
        rows = response.manifest.total_row_count if response.manifest else None
        return Measurement(state.value, elapsed, statement_id, rows=rows)
    error = response.status.error if response.status else None
    message = error.message if error and error.message else "no error message"
    return Measurement(state.value if state else "UNKNOWN", elapsed, statement_id, error=message)


def verdict(measurement: Measurement, slo_seconds: float) -> tuple[bool, str]:
    """Whether the measurement meets the SLO, and a one-line account of it."""
    took = f"{measurement.seconds:.2f}s"
    if measurement.state == "TIMEOUT":
        return False, f"no result after {took} (statement {measurement.statement_id} cancelled)"
    if measurement.state != StatementState.SUCCEEDED.value:
        return False, f"query {measurement.state} after {took}: {measurement.error}"
    if measurement.seconds > slo_seconds:
        return False, f"query took {took}, above the SLO of {slo_seconds:g}s"
    rows = f", {measurement.rows} rows" if measurement.rows is not None else ""
    return True, f"query took {took}{rows}, within the SLO of {slo_seconds:g}s"


def main(argv: Sequence[str] | None = None, client: WorkspaceClient | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the gold query; fail above the SLO.")
    parser.add_argument("--host", required=True, help="workspace URL (stack output workspaceUrl)")
    parser.add_argument("--warehouse-id", required=True, help="stack output warehouseId")
    parser.add_argument(
        "--catalog", help="the environment's catalog (the query names schema.table)"
    )
    parser.add_argument("--slo-seconds", type=float, default=DEFAULT_SLO_SECONDS)
    parser.add_argument(
        "--timeout-seconds", type=float, default=300, help="give up on a statement after this long"
    )
    parser.add_argument("--query", default=GOLD_QUERY, help="the measured query")
    parser.add_argument("--no-warmup", action="store_true", help="measure a cold warehouse too")
    args = parser.parse_args(argv)
    try:
        host, warehouse = workspace_host(args.host), warehouse_id(args.warehouse_id)
        if args.slo_seconds <= 0 or args.timeout_seconds <= 0:
            raise ValueError("--slo-seconds and --timeout-seconds must be positive")
    except ValueError as error:
        print(f"sql_latency_slo: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT

    workspace = client or WorkspaceClient(host=host)
    run = lambda statement: run_statement(  # noqa: E731
        workspace,
        statement,
        warehouse=warehouse,
        catalog=args.catalog,
        timeout_seconds=args.timeout_seconds,
    )
    if not args.no_warmup:
        warm = run(WARMUP_QUERY)
        if warm.state != StatementState.SUCCEEDED.value:
            print(f"warm-up failed: {verdict(warm, args.timeout_seconds)[1]}", file=sys.stderr)
            return EXIT_FAILED
    ok, line = verdict(run(args.query), args.slo_seconds)
    print(f"latency SLO on warehouse {warehouse}: {line}", file=sys.stdout if ok else sys.stderr)
    return EXIT_OK if ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
