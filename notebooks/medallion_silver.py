# Databricks notebook source
# MAGIC %md
# MAGIC # Medallion: silver
# MAGIC
# MAGIC Rebuilds `<catalog>.<schema_prefix>silver.orders|customers` from all of bronze: typed,
# MAGIC validated, the latest valid version per key. Rejected records go to
# MAGIC `<catalog>.<schema_prefix>silver.quarantine` with their reasons. Logic:
# MAGIC `dataops_jobs/medallion.py`.

# COMMAND ----------

from dataops_jobs import medallion
from dataops_jobs import parameters as jp
from dataops_jobs.notebook import read_parameters

values = read_parameters(dbutils.widgets, jp.MEDALLION_SILVER)

# COMMAND ----------

written = medallion.run_silver(spark, values[jp.CATALOG], schema_prefix=values[jp.SCHEMA_PREFIX])
print(f"silver: {written}")
dbutils.notebook.exit(medallion.task_result("silver", **written))
