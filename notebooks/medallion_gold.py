# Databricks notebook source
# MAGIC %md
# MAGIC # Medallion: gold
# MAGIC
# MAGIC Rebuilds `<catalog>.<schema_prefix>gold.daily_revenue_by_segment` and
# MAGIC `<catalog>.<schema_prefix>gold.customer_revenue` from silver: revenue of placed and
# MAGIC shipped orders, per UTC day and the customer's current segment. Logic:
# MAGIC `dataops_jobs/medallion.py`.

# COMMAND ----------

from dataops_jobs import medallion
from dataops_jobs import parameters as jp
from dataops_jobs.notebook import read_parameters

values = read_parameters(dbutils.widgets, jp.MEDALLION_GOLD)

# COMMAND ----------

written = medallion.run_gold(spark, values[jp.CATALOG], schema_prefix=values[jp.SCHEMA_PREFIX])
print(f"gold: rows per table: {written}")
dbutils.notebook.exit(medallion.task_result("gold", rows=written))
