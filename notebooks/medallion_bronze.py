# Databricks notebook source
# MAGIC %md
# MAGIC # Medallion: bronze
# MAGIC
# MAGIC Appends the landing files not ingested yet (`<landing_path>/orders/*.jsonl`,
# MAGIC `<landing_path>/customers/*.csv`) to `<catalog>.<schema_prefix>bronze.orders|customers`,
# MAGIC raw, with the source file and the ingestion time. Auto Loader's checkpoints under
# MAGIC `checkpoint_path` remember what was read. Logic: `dataops_jobs/medallion.py`.

# COMMAND ----------

from dataops_jobs import medallion
from dataops_jobs import parameters as jp
from dataops_jobs.notebook import read_parameters

values = read_parameters(dbutils.widgets, jp.MEDALLION_BRONZE)
catalog = values[jp.CATALOG]
schema_prefix = values[jp.SCHEMA_PREFIX]
landing_path = values[jp.LANDING_PATH]
checkpoint_path = values[jp.CHECKPOINT_PATH]
seed = jp.parse_bool(jp.SEED_SAMPLE_DATA, values[jp.SEED_SAMPLE_DATA])

# COMMAND ----------

if seed:
    copied = medallion.seed_landing(dbutils.fs, medallion.sample_data_root(), landing_path)
    print(f"sample data: copied {len(copied)} file(s) into {landing_path}: {copied}")

# COMMAND ----------

appended = medallion.run_bronze(
    spark, catalog, landing_path, checkpoint_path, auto_loader=True, schema_prefix=schema_prefix
)
print(f"bronze: rows appended per table: {appended}")
dbutils.notebook.exit(medallion.task_result("bronze", rows=appended))
