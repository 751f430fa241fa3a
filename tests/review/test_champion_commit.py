"""`champion record` files production's champion under a full commit with a published model: a
short or made-up version (`deadbee`) was recorded and production-commit reported it."""

from __future__ import annotations

import boto3
import pytest

from tests.review.test_champion import AWS, RELEASED, published, stored
from textclf import cli
from textclf.review import champion
from textclf.review.champion import PRODUCTION_KEY, ChampionError


def nothing_recorded(bucket: str) -> bool:
    return boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=PRODUCTION_KEY).get("KeyCount", 0) == 0


@pytest.mark.parametrize("version", ["deadbee", RELEASED[:39], RELEASED.upper(), RELEASED + "\n", "HEAD"])
def test_only_a_full_commit_is_recorded(pr_repo, bucket, version):
    if "\n" not in version:
        published(bucket, version)  # even with a manifest under that name
    with pytest.raises(ChampionError, match=r"is not a full git commit \(40 lowercase hex digits"):
        champion.record(AWS, pr_repo.root / "metrics/eval.json", version, "macro_f1")
    assert nothing_recorded(bucket)


def test_a_commit_without_a_published_model_is_not_recorded(pr_repo, bucket):
    with pytest.raises(ChampionError) as refused:
        champion.record(AWS, pr_repo.root / "metrics/eval.json", RELEASED, "macro_f1")
    manifest = f"s3://{bucket}/models/{RELEASED}/manifest.json"
    assert str(refused.value).startswith(
        f"no published model for commit {RELEASED}: {manifest} does not exist"
    )
    assert nothing_recorded(bucket)


def test_by_hand_the_commit_must_be_one_of_the_repositorys(pr_repo, bucket):
    published(bucket)  # published under a commit this repository does not have
    with pytest.raises(ChampionError, match=f"model version {RELEASED} is not a commit of this repository"):
        champion.record(AWS, pr_repo.root / "metrics/eval.json", RELEASED, "macro_f1", in_repository=True)
    assert nothing_recorded(bucket)

    head = pr_repo.git("rev-parse", "HEAD")
    published(bucket, head)
    champion.record(AWS, pr_repo.root / "metrics/eval.json", head, "macro_f1", in_repository=True)
    assert stored(bucket)["model_version"] == head


def test_the_command_refuses_deadbee_with_one_line(pr_repo, bucket, capsys):
    assert cli.main(["champion", "record", "--model-version", "deadbee"]) == 2
    err = capsys.readouterr().err
    assert "model version 'deadbee' is not a full git commit" in err and "Traceback" not in err
    assert nothing_recorded(bucket)
