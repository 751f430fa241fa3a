"""The batch workflow: by hand only, its own role, inputs through the environment, and a
cancelled run stops its transform job (GitHub kills the client without a signal it could handle)."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "batch.yml"


def test_the_batch_workflow_runs_make_targets_as_the_batch_role_and_stops_on_cancel():
    text = WORKFLOW.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    assert set(workflow[True]) == {"workflow_dispatch"}  # YAML 1.1 reads the key `on` as True
    job = workflow["jobs"]["batch"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    # batch-predict judges INPUT and OUTPUT against the buckets Terraform made, as the other
    # workflows name them; without them it judged params.yaml's template names and refused every run.
    for setting in ("DATA_BUCKET", "ARTIFACTS_BUCKET", "MODELS_BUCKET"):
        assert job["env"][f"TEXTCLF_{setting}"] == f"${{{{ vars.{setting} }}}}", setting
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    (aws,) = [
        step
        for step in job["steps"]
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_BATCH_ROLE_ARN }}"
    predict = steps["Batch Transform on the production model"]
    assert predict["run"] == "make batch-predict"  # INPUT and OUTPUT reach make as environment
    assert predict["env"] == {"INPUT": "${{ inputs.input }}", "OUTPUT": "${{ inputs.output }}"}
    assert "${{" not in predict["run"]  # inputs reach the shell as variables, never as code
    stop = steps["Stop the transform job of a cancelled run"]
    assert stop["if"] == "cancelled()" and stop["run"] == "make batch-cancel"
