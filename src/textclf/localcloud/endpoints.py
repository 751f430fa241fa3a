"""SageMaker endpoint APIs moto lacks (UpdateEndpoint). Filled in by the serving/redeploy work."""


def install() -> None:
    """Patch moto's SageMaker backend; called once before the local cloud starts."""
