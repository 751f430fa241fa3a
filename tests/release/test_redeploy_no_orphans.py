"""A deploy that fails after it created the model leaves nothing behind (R14C-17): when
CreateEndpointConfig was refused (a KMS key SageMaker cannot use, the account's endpoint-config quota,
throttling), the model just created stayed, and every retry Lambda makes of the event added another:
models no endpoint config names, which the clean-up (by endpoint config) never deletes."""

from __future__ import annotations

from botocore.exceptions import ClientError
from tests.release.redeploy_world import COMMITS, direct_event

from textclf.release import redeploy

A = COMMITS[0]


def test_a_refused_endpoint_config_leaves_no_model(world, monkeypatch):
    world.upload(A)
    real = redeploy._clients

    def clients():
        made = real()
        sagemaker = made["sagemaker"]

        class Refusing:
            def __getattr__(self, name):
                return getattr(sagemaker, name)

            def create_endpoint_config(self, **_):
                raise ClientError(
                    {"Error": {"Code": "ResourceLimitExceeded", "Message": "endpoint configs: 1000"}},
                    "CreateEndpointConfig",
                )

        return {**made, "sagemaker": Refusing()}

    monkeypatch.setattr(redeploy, "_clients", clients)
    result = redeploy.handler(direct_event(A), None)

    assert result["ok"] is False and "endpoint configs: 1000" in result["reason"], result
    assert world.model_names() == [] and world.config_names() == []
