# Databricks notebook source
# MAGIC %md
# MAGIC # Integration tests of the environment's catalog
# MAGIC
# MAGIC Schemas and tables exist, grants hold, a sample query returns rows. The result is one
# MAGIC JSON document: the notebook's exit value when every check passed, the error of the
# MAGIC failed run otherwise; one row per check is appended to `results_table` either way.
# MAGIC With `schema_prefix`, the medallion's schemas checked are `<schema_prefix>bronze` etc.
# MAGIC Logic: `dataops_jobs/integration.py`.

# COMMAND ----------

from dataops_jobs import integration
from dataops_jobs import parameters as jp
from dataops_jobs.notebook import read_parameters

values = read_parameters(dbutils.widgets, jp.INTEGRATION_TESTS)
catalog = values[jp.CATALOG]
schema_prefix = values[jp.SCHEMA_PREFIX]
results_table = values[jp.RESULTS_TABLE] or integration.results_table(catalog, schema_prefix)
expected_tables = integration.parse_expected_tables(values[jp.EXPECTED_TABLES])
grant_checks = integration.GrantCheck.from_json(values[jp.GRANT_CHECKS])

# COMMAND ----------

result = integration.run_checks(
    integration.spark_sql_runner(spark),
    catalog,
    expected_tables=expected_tables,
    grant_checks=grant_checks,
    schema_prefix=schema_prefix,
)
document = result.to_json()
print(document)
integration.write_results(spark, results_table, result)

# COMMAND ----------

if not result.passed:
    raise integration.IntegrationTestsError(document)
dbutils.notebook.exit(document)
