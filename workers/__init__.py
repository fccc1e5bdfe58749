"""Background work on RQ: jobs are plain functions taking ids, safe to run twice."""
