"""ECS RegisterTaskDefinition, CreateService and UpdateService refuse what ECS refuses, before moto
registers or stores anything: ClientException for a task definition, InvalidParameterException for
a service's desired count.

moto registered a Fargate task of 256 CPU with 8192 MiB, a CPU of 300, network mode `bridge` on
Fargate, a task with no essential container or two containers of one name, a containerPort of 70000,
a hostPort other than the containerPort under awsvpc, a container's memory above the task's, and a
service with desiredCount -1 (issue 27, R14B-29). `make ecs-roll` (frontdoor/ecs_roll.py) registers a
new revision from the service's current one, so whatever a Terraform change puts in the definition
was only ever checked here before it reached ECS. (infra.py checks the family, container name and
image rules.)

The rules:
- Fargate: "Fargate only supports network mode 'awsvpc'"; task CPU and memory one of the supported
  combinations: 256 CPU with 512, 1024 or 2048 MiB; 512 with 1024-4096 in steps of 1024; 1024 with
  2048-8192; 2048 with 4096-16384 (steps of 1024); 4096 with 8192-30720 (steps of 1024); 8192 with
  16384-61440 in steps of 4096; 16384 with 32768-122880 in steps of 8192 (ECS developer guide,
  "Amazon ECS task definition parameters for Fargate", Task size,
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size,
  and "Fargate task networking", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html);
- "All tasks must have at least one essential container"; container names unique in the task; a
  container's `memory` within the task's memory, and the containers' memory reservations and CPU
  together within the task's ("The total amount of memory reserved for all containers within a task
  must be lower than the task memory value"; "the total amount of CPU reserved for all containers
  within a task must be lower than the task-level cpu value") (ECS API reference, ContainerDefinition,
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html);
- port mappings: ports 0-65535; with the awsvpc or host network mode "The hostPort can be left blank
  or it must be the same value as the containerPort" (ECS API reference, PortMapping,
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html);
- CreateService / UpdateService: desiredCount not negative (ECS API reference, CreateService,
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html, "The number of
  instantiations of the specified task definition to place and keep running").
"""

from __future__ import annotations

import re
import sys
from typing import Any

# Fargate task CPU -> the memory (MiB) it takes.
FARGATE_SIZES: dict[int, range | tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}
MAX_PORT = 65535
_UNITS = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*(vcpu|gb)?\s*", re.IGNORECASE)


def _size(value: Any, unit: int) -> int | None:
    """Task CPU units or MiB from "1024", 1024, "1 vCPU" or "2 GB"; None when absent or unreadable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _UNITS.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    number = float(match.group(1))
    return round(number * unit) if match.group(2) else round(number)


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _port_problem(name: str, mapping: Any, network_mode: str) -> str | None:
    if not isinstance(mapping, dict):
        return None
    container_port, host_port = _number(mapping.get("containerPort")), _number(mapping.get("hostPort"))
    for field, port in (("containerPort", container_port), ("hostPort", host_port)):
        if port is not None and not 0 <= port <= MAX_PORT:
            return f"Container '{name}': portMappings {field} {port} is not a port (0-{MAX_PORT})"
    given = host_port is not None and container_port is not None
    if network_mode in ("awsvpc", "host") and given and host_port != container_port:
        return (
            f"When networkMode={network_mode}, the host ports and container ports in port mappings must "
            f"match (container '{name}': hostPort {host_port}, containerPort {container_port})"
        )
    return None


def task_definition_problem(params: dict[str, Any]) -> str | None:
    """ECS's reason to refuse a RegisterTaskDefinition request, or None."""
    containers = [c for c in params.get("containerDefinitions") or [] if isinstance(c, dict)]
    compatibilities = params.get("requiresCompatibilities") or []
    network_mode = params.get("networkMode") or ("awsvpc" if "FARGATE" in compatibilities else "bridge")
    cpu, memory = _size(params.get("cpu"), 1024), _size(params.get("memory"), 1024)
    if "FARGATE" in compatibilities:
        if network_mode != "awsvpc":
            return "Fargate only supports network mode 'awsvpc'."
        if cpu is not None and memory is not None and memory not in FARGATE_SIZES.get(cpu, ()):
            return (
                f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
                "Fargate takes 256 CPU with 512-2048 MiB, 512 with 1024-4096, 1024 with 2048-8192, "
                "2048 with 4096-16384, 4096 with 8192-30720, 8192 with 16384-61440, 16384 with 32768-122880."
            )
    if containers and not any(c.get("essential", True) is not False for c in containers):
        return "A task definition must have at least one essential container (essential: true)."
    names = [c.get("name") for c in containers]
    duplicated = sorted({str(n) for n in names if names.count(n) > 1})
    if duplicated:
        return f"Container names must be unique in a task definition: {', '.join(duplicated)} is given twice."
    reserved_memory = reserved_cpu = 0
    for container in containers:
        name = container.get("name")
        own_memory = _number(container.get("memory"))
        if memory is not None and own_memory is not None and own_memory > memory:
            return (
                f"Container '{name}': memory {own_memory} MiB is more than the task's memory ({memory} MiB)."
            )
        reserved_memory += _number(container.get("memoryReservation")) or own_memory or 0
        reserved_cpu += _number(container.get("cpu")) or 0
        for mapping in container.get("portMappings") or []:
            problem = _port_problem(str(name), mapping, network_mode)
            if problem:
                return problem
    if memory is not None and reserved_memory > memory:
        return (
            f"The containers reserve {reserved_memory} MiB of memory together: more than the task's {memory}."
        )
    if cpu is not None and reserved_cpu > cpu:
        return f"The containers reserve {reserved_cpu} CPU units together: more than the task's {cpu}."
    return None


# CreateCluster clusterName and CreateService serviceName: "Up to 255 letters (uppercase and
# lowercase), numbers, underscores, and hyphens are allowed" (ECS API reference, CreateCluster,
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html, and CreateService).
NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def name_problem(field: str, name: Any) -> str | None:
    if name is None or (isinstance(name, str) and NAME.fullmatch(name)):
        return None
    return f"{field} {str(name)[:80]!r} is invalid: up to 255 letters, numbers, underscores and hyphens"


def desired_count_problem(count: Any) -> str | None:
    if count is None:
        return None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return f"desiredCount must be a whole number of 0 or more (got {count!r})"
    return None


def install() -> None:
    """Check task definitions and services before moto registers them; called once before the local
    cloud starts."""
    from moto.ecs.exceptions import EcsClientException, InvalidParameterException
    from moto.ecs.responses import EC2ContainerServiceResponse

    register, create_service, update_service = (
        EC2ContainerServiceResponse.register_task_definition,
        EC2ContainerServiceResponse.create_service,
        EC2ContainerServiceResponse.update_service,
    )

    def checked_register(self: Any) -> Any:
        problem = task_definition_problem(self._get_params())
        if problem:
            print(f"[local cloud] REFUSED RegisterTaskDefinition: {problem}", file=sys.stderr)
            raise EcsClientException(problem)
        return register(self)

    create_cluster = EC2ContainerServiceResponse.create_cluster

    def checked_cluster(self: Any) -> Any:
        problem = name_problem("clusterName", self._get_param("clusterName"))
        if problem:
            print(f"[local cloud] REFUSED CreateCluster: {problem}", file=sys.stderr)
            raise InvalidParameterException(problem)
        return create_cluster(self)

    EC2ContainerServiceResponse.create_cluster = checked_cluster

    def checked_service(original: Any, operation: str) -> Any:
        def checked(self: Any) -> Any:
            problem = desired_count_problem(self._get_param("desiredCount"))
            if operation == "CreateService":
                problem = name_problem("serviceName", self._get_param("serviceName")) or problem
            if problem:
                print(f"[local cloud] REFUSED {operation}: {problem}", file=sys.stderr)
                raise InvalidParameterException(problem)
            return original(self)

        return checked

    EC2ContainerServiceResponse.register_task_definition = checked_register
    EC2ContainerServiceResponse.create_service = checked_service(create_service, "CreateService")
    EC2ContainerServiceResponse.update_service = checked_service(update_service, "UpdateService")
