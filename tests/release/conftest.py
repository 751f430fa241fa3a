"""Fixtures for the deploy tests: the redeploy Lambda's world on a reset local cloud."""

from __future__ import annotations

import pytest
from redeploy_world import World, lambda_environment, make_world, set_endpoint_behaviour, tarball


@pytest.fixture(scope="session")
def model_tarballs(tiny_model_dir) -> dict[str, bytes]:
    """A servable artifact, and a broken one (no weights: its container would fail the health check)."""
    return {"good": tarball(tiny_model_dir), "broken": tarball(tiny_model_dir, skip=("model.safetensors",))}


@pytest.fixture
def world(aws_env, local_cloud, model_tarballs, monkeypatch) -> World:
    """The artifacts bucket, lock table and role, and the Lambda's environment as Terraform sets it
    (with short waits: the local cloud's endpoints change state in 0.15 s)."""
    world = make_world(local_cloud.url, model_tarballs)
    for key, value in lambda_environment(world.role_arn).items():
        monkeypatch.setenv(key, value)
    set_endpoint_behaviour(local_cloud.url, transition_seconds=0.15)
    return world
