"""Pipelines: plain Python steps in a DAG, cached, recorded as runs, run locally or on Ray."""
