# Databricks notebook source
# MAGIC %md
# MAGIC # Git sync: the workspace folder, mirrored into git
# MAGIC
# MAGIC Runs `python -m gitsync run` (the `gitsync` package uploaded next to this notebook).
# MAGIC The git token comes from the secret scope and, like the run's own workspace
# MAGIC credentials, reaches gitsync only through its environment. A non-zero exit fails the
# MAGIC task. Logic: `dataops_jobs/git_sync.py`.

# COMMAND ----------

import uuid
from datetime import UTC, datetime
from pathlib import Path

from dataops_jobs import git_sync, run_history
from dataops_jobs import parameters as jp
from dataops_jobs.notebook import read_parameters

values = read_parameters(dbutils.widgets, jp.GIT_SYNC)
settings = git_sync.GitSyncSettings(
    source_path=values[jp.SOURCE_PATH],
    target_repository=values[jp.TARGET_REPOSITORY],
    target_branch=values[jp.TARGET_BRANCH],
)
scope = values[jp.SECRET_SCOPE]
git_token = dbutils.secrets.get(scope, values[jp.SECRET_KEY]) if scope else None
report_dir = Path(values[jp.REPORT_DIR]) if values[jp.REPORT_DIR] else None

# COMMAND ----------

# The SDK's cluster auth works inside this notebook's process only, not in a child
# process: hand gitsync this run's own host and token instead (both stay out of argv).
context = dbutils.notebook.entry_point.getDbutils().notebook().getContext()
workspace = git_sync.WorkspaceAuth(
    host=f"https://{spark.conf.get('spark.databricks.workspaceUrl')}",
    token=context.apiToken().get(),
)

# COMMAND ----------

started = datetime.now(UTC)
outcome = git_sync.run_git_sync(
    settings,
    code_root=git_sync.code_root(),
    git_token=git_token,
    workspace=workspace,
    report_dir=report_dir,
)
print(outcome.summary)

# COMMAND ----------

# Every run is recorded, failed ones first of all (the stale-backup alert and the
# dashboards read the history); a run without a report still gets its row. A history
# that cannot be written fails the task too, but never hides the backup's own failure.
history_error: Exception | None = None
if values[jp.CATALOG]:
    rows = run_history.rows_from_report(
        outcome.report or {"source": settings.source_path, "error": outcome.summary},
        run_id=str(uuid.uuid4()),
        exit_code=outcome.exit_code,
        started=started,
        finished=datetime.now(UTC),
        job_run_id=values[jp.JOB_RUN_ID] or None,
    )
    try:
        kept = run_history.record_run(
            spark,
            catalog=values[jp.CATALOG],
            schema=values[jp.HISTORY_SCHEMA],
            rows=rows,
            retention_days=int(values[jp.RETENTION_DAYS]),
        )
        print(f"run history: rows kept per table: {kept}")
    except Exception as error:  # noqa: BLE001 - raised below, after the backup's outcome
        history_error = error
        print(f"run history: not recorded: {error}")

# COMMAND ----------

if not outcome.ok:
    raise git_sync.GitSyncError(outcome.failure_message())
if history_error is not None:
    raise history_error
dbutils.notebook.exit(outcome.to_json())
