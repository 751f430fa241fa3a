"""ECS in the local cloud refuses the task definitions and services ECS refuses, registering nothing
(R14B-29): Fargate sizes and network mode, essential and unique containers, ports, container memory
within the task's, a negative desired count."""

from __future__ import annotations

import boto3
import pytest

from tests.infra.test_localcloud_lambda_checks import refused

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/textclf-serving:abc1234"
SERVE = {"name": "serve", "image": IMAGE, "essential": True, "portMappings": [{"containerPort": 8080}]}
# terraform/ecs.tf's shape: Fargate, awsvpc, task-level size, one essential container.
FARGATE = {
    "family": "serving",
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "1024",
    "memory": "2048",
    "containerDefinitions": [SERVE],
}


def task(**change) -> dict:
    return {**FARGATE, **change}


def serving(**change) -> list[dict]:
    return [{**SERVE, **change}]


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (
            task(cpu="256", memory="8192"),
            "No Fargate configuration exists for given values: 256 CPU, 8192 memory",
        ),
        (task(cpu="300"), "No Fargate configuration exists for given values: 300 CPU"),
        (task(cpu="1 vCPU", memory="16 GB"), "1024 CPU, 16384 memory"),
        (task(networkMode="bridge"), "Fargate only supports network mode 'awsvpc'"),
        (task(containerDefinitions=serving(essential=False)), "at least one essential container"),
        (task(containerDefinitions=[SERVE, SERVE]), "serve is given twice"),
        (task(containerDefinitions=serving(portMappings=[{"containerPort": 70000}])), "containerPort 70000"),
        (
            task(containerDefinitions=serving(portMappings=[{"containerPort": 8080, "hostPort": 9090}])),
            "host ports and container ports in port mappings must match",
        ),
        (task(containerDefinitions=serving(memory=4096)), "memory 4096 MiB is more than the task's memory"),
        (
            task(
                containerDefinitions=[
                    *serving(memoryReservation=1500),
                    {**SERVE, "name": "side", "memory": 1000},
                ]
            ),
            "reserve 2500 MiB of memory together",
        ),
        (task(containerDefinitions=serving(cpu=2048)), "reserve 2048 CPU units together"),
    ],
)
def test_register_task_definition_refuses_what_ecs_refuses(aws_env, definition, expected):
    ecs = boto3.client("ecs")
    message = refused(lambda: ecs.register_task_definition(**definition), "ClientException", 400)
    assert expected in message
    assert ecs.list_task_definitions()["taskDefinitionArns"] == []


@pytest.mark.parametrize(
    "definition",
    [
        FARGATE,
        task(cpu="256", memory="512"),
        task(cpu="16384", memory="122880"),
        task(cpu=".25 vCPU", memory="2 GB"),
        task(
            containerDefinitions=serving(
                portMappings=[{"containerPort": 8080, "hostPort": 8080}], memory=2048
            )
        ),
        task(
            containerDefinitions=[
                *serving(),
                {**SERVE, "name": "side", "essential": False, "portMappings": []},
            ]
        ),
        {
            "family": "serving",
            "containerDefinitions": serving(memory=512, portMappings=[{"containerPort": 80, "hostPort": 0}]),
        },
    ],
)
def test_task_definitions_ecs_takes_are_registered(aws_env, definition):
    ecs = boto3.client("ecs")
    ecs.register_task_definition(**definition)
    assert len(ecs.list_task_definitions()["taskDefinitionArns"]) == 1


def test_a_service_with_a_negative_desired_count_is_refused(aws_env):
    ecs = boto3.client("ecs")
    ecs.register_task_definition(**FARGATE)
    ecs.create_cluster(clusterName="c1")
    create = {"cluster": "c1", "serviceName": "s1", "taskDefinition": "serving:1"}
    refused(lambda: ecs.create_service(**create, desiredCount=-1), "InvalidParameterException", 400)
    assert ecs.list_services(cluster="c1")["serviceArns"] == []
    ecs.create_service(**create, desiredCount=1)
    refused(
        lambda: ecs.update_service(cluster="c1", service="s1", desiredCount=-1),
        "InvalidParameterException",
        400,
    )
    assert ecs.describe_services(cluster="c1", services=["s1"])["services"][0]["desiredCount"] == 1
    assert ecs.update_service(cluster="c1", service="s1", desiredCount=0)["service"]["desiredCount"] == 0


@pytest.mark.parametrize("name", ["bad name!", "a" * 256, "x/y"])
def test_cluster_and_service_names_ecs_refuses_are_refused(aws_env, name):
    ecs = boto3.client("ecs")
    refused(lambda: ecs.create_cluster(clusterName=name), "InvalidParameterException", 400)
    assert ecs.list_clusters()["clusterArns"] == []
    ecs.register_task_definition(**FARGATE)
    ecs.create_cluster(clusterName="c_1-ok")
    service = {"cluster": "c_1-ok", "taskDefinition": "serving:1", "desiredCount": 1}
    refused(lambda: ecs.create_service(serviceName=name, **service), "InvalidParameterException", 400)
    assert ecs.list_services(cluster="c_1-ok")["serviceArns"] == []
    ecs.create_service(serviceName="s_1-ok", **service)
