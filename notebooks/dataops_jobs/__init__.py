"""The code the dataops platform's jobs run: medallion transforms, integration checks, git sync.

The entry notebooks next to this package (``notebooks/*.py``) are thin: they read their
job parameters and call into these modules. ``parameters`` and ``upload`` import only the
standard library, so the Pulumi program can import them without pyspark installed; the
other modules are imported by the notebooks on a cluster (and by the local tests).
"""
