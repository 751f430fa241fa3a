"""The API front door: API Gateway -> this proxy Lambda -> the SageMaker endpoint."""
