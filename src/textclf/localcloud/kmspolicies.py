"""KMS CreateKey and PutKeyPolicy refuse a key policy KMS refuses: `MalformedPolicyDocumentException`,
HTTP 400, and nothing is created or stored.

moto stored any text. A key policy that was not JSON then made every later call on the key an HTML
500 (the local cloud's evaluator read it for each), and one whose Statement held a string locked the
key for good, PutKeyPolicy to repair it included (issue 27, R14B-31).

The rules (KMS API reference, CreateKey, https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html,
and PutKeyPolicy, https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html: Policy
"Length Constraints: Minimum length of 1. Maximum length of 32768", "Each statement in the key policy
must contain one or more principals", "A key policy document can include only the following
characters: Printable ASCII characters from the space character (\\u0020) through the end of the
ASCII character range. Printable characters in the Basic Latin and Latin-1 Supplement character set
(through \\u00FF). The tab (\\u0009), line feed (\\u000A), and carriage return (\\u000D) special
characters", error MalformedPolicyDocumentException; KMS developer guide, "Key policies in AWS KMS",
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html, and the IAM JSON
policy grammar it uses):
- a JSON object with Version (2012-10-17 or 2008-10-17), Id and Statement only; Statement one
  statement object or a non-empty list of them;
- each statement an object with Effect Allow or Deny and a Principal (or NotPrincipal) that is "*"
  or an object of AWS / Service / Federated / CanonicalUser values (an AWS value "*", an account id or
  an IAM / STS ARN); Sid a string; Condition an object of condition operators.
A statement without Action or Resource is taken: "If either of the required Resource or Action
elements are missing from a key policy statement, the policy statement has no effect ... the
CreateKey and PutKeyPolicy API requests succeed" (same pages).

An IAM role or user of this account named as a principal must exist ("The principals in the key
policy must exist and be visible to KMS"): s3policies' principal check refuses one that does not
(issue 27, R14B-42).

The lockout safety check: "The key policy must allow the calling principal to make a subsequent
PutKeyPolicy request on the KMS key ... (To omit this condition, set BypassPolicyLockoutSafetyCheck
to true.)" (same pages): without the bypass, a policy under which the caller could not call
kms:PutKeyPolicy on the key (evaluated by the local cloud's IAM engine, iam.decide, with the new
policy in the stored one's place: key policy, delegation to IAM through the account root, the
caller's identity policies and boundary) is refused, and the key, which nobody could manage any
more, is neither created nor changed.
"""

from __future__ import annotations

import contextvars
import json
import re
import sys
import uuid
from typing import Any

# The IAM JSON policy grammar's elements, principals and conditions, as S3 checks them in bucket policies.
from textclf.localcloud.s3policies import (
    STATEMENT_ELEMENTS,
    TOP_ELEMENTS,
    VERSIONS,
    MalformedBucketPolicy,
    _check_condition,
    _check_principal,
)

MAX_POLICY_CHARS = 32_768
NOT_ALLOWED = re.compile(r"[^\t\n\r\x20-\xff]")


def _statement_problem(number: int, statement: Any) -> str | None:
    where = f"Statement {number}"
    if not isinstance(statement, dict):
        return f"{where} is not an object: {json.dumps(statement)[:100]}"
    unknown = sorted(set(statement) - STATEMENT_ELEMENTS)
    if unknown:
        return f"{where} has an unknown element {unknown[0]}"
    if statement.get("Effect") not in ("Allow", "Deny"):
        return f"{where}: Effect must be Allow or Deny (got {json.dumps(statement.get('Effect'))})"
    if ("Principal" in statement) == ("NotPrincipal" in statement):
        return f"{where} must contain one Principal (or NotPrincipal): it names who the statement is for"
    for one, other in (("Action", "NotAction"), ("Resource", "NotResource")):
        if one in statement and other in statement:
            return f"{where} has both {one} and {other}"
    if "Sid" in statement and not isinstance(statement["Sid"], str):
        return f"{where}: Sid must be a string"
    try:
        _check_principal(statement.get("Principal", statement.get("NotPrincipal")))
        if "Condition" in statement:
            _check_condition(statement["Condition"])
    except MalformedBucketPolicy as error:
        text = str(error).replace("Invalid principal in policy", "contains one or more invalid principals")
        return f"{where} {text}" if text.startswith("contains") else f"{where}: {text}"
    for element in ("Action", "NotAction", "Resource", "NotResource"):
        value = statement.get(element, "")
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            return f"{where}: {element} must be a string or a list of strings"
    return None


def key_policy_problem(policy: Any) -> str | None:
    """Why KMS refuses `policy` as a key policy (MalformedPolicyDocumentException), or None."""
    if not isinstance(policy, str) or not policy:
        return "The key policy must be a JSON document of 1 to 32768 characters"
    if len(policy) > MAX_POLICY_CHARS:
        return f"The key policy is {len(policy)} characters: at most {MAX_POLICY_CHARS}"
    bad = NOT_ALLOWED.search(policy)
    if bad:
        return (
            f"The key policy holds the character U+{ord(bad.group()):04X} at offset {bad.start()}: a key "
            "policy takes printable ASCII and Latin-1 characters, tab, line feed and carriage return only"
        )
    try:
        document = json.loads(policy)
    except (ValueError, RecursionError):
        return "The key policy is not valid JSON"
    if not isinstance(document, dict):
        return "The key policy must be a JSON object"
    unknown = sorted(set(document) - TOP_ELEMENTS)
    if unknown:
        return f"The key policy has an unknown element {unknown[0]}"
    if "Version" in document and document["Version"] not in VERSIONS:
        return f"The key policy's Version must be 2012-10-17 (got {json.dumps(document['Version'])})"
    statements = document.get("Statement")
    statements = statements if isinstance(statements, list) else [statements] if statements else []
    if not statements:
        return "The key policy has no Statement"
    for number, statement in enumerate(statements, start=1):
        problem = _statement_problem(number, statement)
        if problem:
            return problem
    return None


# The key policy a lockout check evaluates in place of the stored one: (key ARN, document), per
# request thread (the local cloud serves each request in its own thread).
_CANDIDATE: contextvars.ContextVar[tuple[str, dict[str, Any]] | None] = contextvars.ContextVar(
    "kms_candidate_key_policy", default=None
)


def lockout_problem(response: Any, key_arn: str, policy: str) -> str | None:
    """Why the new key policy would lock its caller out of the key (or None): the caller could not
    make a later PutKeyPolicy under it."""
    from moto.iam.access_control import IAMRequest

    from textclf.localcloud import iam
    from textclf.localcloud.policy import Request

    if not iam.STATE.enforcing:
        return None
    principal, region, _ = iam._caller(response, IAMRequest)
    context = iam._global_context(principal, region)
    request = Request(principal, "kms:PutKeyPolicy", key_arn, context, iam.GLOBAL_KEYS | iam.SERVICE_KEYS)
    token = _CANDIDATE.set((key_arn, json.loads(policy)))
    try:
        verdict = iam.decide(request, region)
    finally:
        _CANDIDATE.reset(token)
    if verdict.allowed:
        return None
    return (
        f"The new key policy will not allow you to update the key policy in the future: {principal} could "
        "not call kms:PutKeyPolicy on the key under it. Allow it (or the account root, to delegate to IAM), "
        "or set BypassPolicyLockoutSafetyCheck if that is meant"
    )


# Other KMS parameters (KMS API reference, CreateKey: Description "Maximum length of 8192";
# ScheduleKeyDeletion, https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html:
# PendingWindowInDays "If you include a value, it must be between 7 and 30, inclusive"): moto took a
# 3-day or 31-day window, so a Terraform deletion_window_in_days KMS refuses applied here.
MAX_DESCRIPTION_CHARS = 8192
MIN_PENDING_DAYS, MAX_PENDING_DAYS = 7, 30


def _validation(operation: str, problem: str) -> Exception:
    from moto.kms.exceptions import ValidationException

    print(f"[local cloud] REFUSED {operation}: {problem}", file=sys.stderr)
    return ValidationException(problem)


def _malformed(operation: str, problem: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    print(f"[local cloud] REFUSED {operation}: {problem}", file=sys.stderr)
    error = JsonRESTError("MalformedPolicyDocumentException", problem)
    error.code = 400
    return error


def install() -> None:
    """Check key policies before moto creates a key or stores one; called once before the local cloud
    starts."""
    from moto.kms.responses import KmsResponse

    from textclf.localcloud import iam

    create_key, put_key_policy = KmsResponse.create_key, KmsResponse.put_key_policy
    stored_key_policy = iam._key_policy

    def key_policy(key_arn: str, region: str) -> dict[str, Any] | None:
        candidate = _CANDIDATE.get()
        if candidate is not None and candidate[0] == key_arn:
            return candidate[1]
        return stored_key_policy(key_arn, region)

    iam._key_policy = key_policy

    schedule_key_deletion = KmsResponse.schedule_key_deletion

    def checked_schedule_key_deletion(self: Any) -> str:
        days = self._get_param("PendingWindowInDays")
        if days is not None and not (isinstance(days, int) and MIN_PENDING_DAYS <= days <= MAX_PENDING_DAYS):
            raise _validation(
                "ScheduleKeyDeletion",
                f"PendingWindowInDays {days!r} is invalid: {MIN_PENDING_DAYS} to {MAX_PENDING_DAYS} days",
            )
        return schedule_key_deletion(self)

    KmsResponse.schedule_key_deletion = checked_schedule_key_deletion

    def checked_create_key(self: Any) -> str:
        description = self._get_param("Description")
        if isinstance(description, str) and len(description) > MAX_DESCRIPTION_CHARS:
            raise _validation("CreateKey", f"Description is {len(description)} characters: at most 8192")
        policy = self._get_param("Policy")
        problem = None if policy is None else key_policy_problem(policy)
        if problem is None and policy is not None and not self._get_param("BypassPolicyLockoutSafetyCheck"):
            pending = f"arn:aws:kms:{self.region}:{iam.ACCOUNT}:key/pending-{uuid.uuid4()}"
            problem = lockout_problem(self, pending, policy)
        if problem:
            raise _malformed("CreateKey", problem)
        return create_key(self)

    def checked_put_key_policy(self: Any) -> str:
        key_id = self._get_param("KeyId")
        self._validate_cmk_id(key_id)  # NotFoundException first
        policy = self._get_param("Policy")
        problem = key_policy_problem(policy)
        if problem is None and not self._get_param("BypassPolicyLockoutSafetyCheck"):
            problem = lockout_problem(self, iam.kms_key_arn(key_id, self.region), policy)
        if problem:
            raise _malformed("PutKeyPolicy", problem)
        return put_key_policy(self)

    KmsResponse.create_key = checked_create_key
    KmsResponse.put_key_policy = checked_put_key_policy
