# Databricks notebook source
# Revenue per customer segment from the medallion's gold table, in the catalog and schemas
# of the target the bundle was deployed to. Read-only: the run-as identity needs SELECT on
# the gold schema, nothing more.
import json

from databricks.sdk.runtime import dbutils, spark
from pyspark.sql import functions as sf

# COMMAND ----------

dbutils.widgets.text("catalog", "")
dbutils.widgets.text("schema_prefix", "")
catalog = dbutils.widgets.get("catalog")
gold = f"{dbutils.widgets.get('schema_prefix')}gold"
if not catalog:
    raise ValueError("the job passes 'catalog' (the bundle variable catalog); it is empty")

# COMMAND ----------

rows = (
    spark.table(f"{catalog}.{gold}.daily_revenue_by_segment")
    .groupBy("segment")
    .agg(sf.sum("orders").alias("orders"), sf.sum("revenue").alias("revenue"))
    .orderBy("segment")
    .collect()
)
report = {row["segment"]: {"orders": row["orders"], "revenue": str(row["revenue"])} for row in rows}
dbutils.notebook.exit(json.dumps({"catalog": catalog, "schema": gold, "segments": report}))
