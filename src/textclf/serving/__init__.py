"""The inference server (SageMaker's container contract)."""
