"""Where training runs: the SageMaker backend, the local runner of the container contract, the launcher.

Imports the pipeline (the train program and its hyperparameters) and the shared ground, nothing above.
"""
