"""Beyond the endpoint: batch inference on the production model, and the API front door's proxy."""
