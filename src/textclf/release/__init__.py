"""Publish and promote by commit, the redeploy Lambda and the retraining import.

Kept import-free: the Lambda zip ships this file with `redeploy.py` and nothing else.
"""
