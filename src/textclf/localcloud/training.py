"""SageMaker training-job behaviour moto lacks (status sequences, billable time). Filled in by the
SageMaker backend work."""


def install() -> None:
    """Patch moto's SageMaker backend; called once before the local cloud starts."""
