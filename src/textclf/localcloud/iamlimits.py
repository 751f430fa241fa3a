"""IAM refuses the roles and policies IAM refuses (moto stored them: issue 27, R14B-6).

- CreateRole / UpdateAssumeRolePolicy: a trust policy that is not one is MalformedPolicyDocument
  (moto checked it at UpdateAssumeRolePolicy only; a role made with `{"Statement": "x"}` then broke
  AssumeRole); a trust statement needs a Principal. RoleName "Maximum length of 64. Pattern:
  [\\w+=,.@-]+", Path "Maximum length of 512", Description "Maximum length of 1000",
  MaxSessionDuration "Minimum value of 3600. Maximum value of 43200": ValidationError (IAM API
  reference, CreateRole, https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html;
  UpdateRole, https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateRole.html).
- Sizes, not counting white space ("IAM doesn't count white space when calculating the size of a
  policy against these quotas"), IAM User Guide, "IAM and AWS STS quotas",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html: a managed policy at
  most 6,144 characters, a role's inline policies together 10,240, a user's 2,048, a role trust
  policy 2,048 (the default quota), at most 10 managed policies attached to a role or a user (the
  default quota). Past one: LimitExceeded, HTTP 409 ("Cannot exceed quota for PolicySize: 6144").
"""

from __future__ import annotations

import json
import re
import sys
import urllib.parse
from typing import Any

from textclf.localcloud.s3policies import MalformedBucketPolicy, check_principal

MANAGED_POLICY_CHARS = 6144
ROLE_INLINE_CHARS = 10240
USER_INLINE_CHARS = 2048
TRUST_POLICY_CHARS = 2048
MANAGED_PER_ENTITY = 10
NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
PATH = re.compile(r"/|/[\x21-\x7e]{1,510}/")
MIN_SESSION, MAX_SESSION = 3600, 43200


def policy_chars(document: Any) -> int:
    """A policy's size as IAM counts it: its characters without white space."""
    text = document if isinstance(document, str) else json.dumps(document)
    if text.startswith("%7B"):
        text = urllib.parse.unquote(text)
    return len(re.sub(r"\s", "", text))


def _text(document: Any) -> str:
    text = document if isinstance(document, str) else json.dumps(document)
    return urllib.parse.unquote(text) if text.startswith("%7B") else text


def _validation(message: str) -> Exception:
    from moto.iam.exceptions import ValidationError

    print(f"[local cloud] REFUSED (IAM ValidationError): {message}", file=sys.stderr)
    return ValidationError(message)


def _limit(message: str) -> Exception:
    from moto.iam.exceptions import LimitExceededException

    print(f"[local cloud] REFUSED (IAM LimitExceeded): {message}", file=sys.stderr)
    error = LimitExceededException(message)
    error.http_status_code = 409  # type: ignore[attr-defined]  (iam._errors_with_their_status)
    return error


def _malformed(message: str) -> Exception:
    from moto.iam.exceptions import MalformedPolicyDocument

    print(f"[local cloud] REFUSED (IAM MalformedPolicyDocument): {message}", file=sys.stderr)
    return MalformedPolicyDocument(message)


def _check_trust(document: Any) -> None:
    from moto.iam.policy_validation import IAMTrustPolicyDocumentValidator

    text = _text(document)
    IAMTrustPolicyDocumentValidator(text).validate()  # raises MalformedPolicyDocument
    parsed = json.loads(text)
    statements = parsed["Statement"] if isinstance(parsed["Statement"], list) else [parsed["Statement"]]
    for statement in statements:
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise _malformed("Missing required field Principal")
        try:  # the same Principal forms a resource policy takes (s3policies)
            check_principal(statement.get("Principal", statement.get("NotPrincipal")))
        except MalformedBucketPolicy as error:
            raise _malformed(str(error)) from None
    size = policy_chars(text)
    if size > TRUST_POLICY_CHARS:
        raise _limit(
            f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_CHARS} (the trust policy has {size})"
        )


def _check_identity(document: Any) -> None:
    """An identity-based policy names no principal: "Policy document should not specify a
    principal." (MalformedPolicyDocument; IAM User Guide, "IAM JSON policy elements: Principal":
    "You cannot use the Principal element in an identity-based policy")."""
    try:
        parsed = json.loads(_text(document))
    except (ValueError, RecursionError):
        return  # moto's validator answers MalformedPolicyDocument for it
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    for statement in statements if isinstance(statements, list) else [statements]:
        if isinstance(statement, dict) and ("Principal" in statement or "NotPrincipal" in statement):
            raise _malformed("Policy document should not specify a principal.")


def _check_role_fields(name: str | None, path: str | None, description: str | None, session: Any) -> None:
    if name is not None and not NAME.fullmatch(name):
        raise _validation(
            f"1 validation error detected: Value '{name[:100]}' at 'roleName' failed to satisfy constraint: "
            "Member must have length less than or equal to 64 and satisfy regular expression pattern: "
            "[\\w+=,.@-]+"
        )
    if path and not PATH.fullmatch(path):
        raise _validation(
            f"1 validation error detected: Value '{path[:100]}' at 'path' failed to satisfy constraint: "
            "Member must begin and end with '/', at most 512 characters"
        )
    if description is not None and len(description) > 1000:
        raise _validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: "
            "Member must have length less than or equal to 1000"
        )
    if session not in (None, ""):
        try:
            seconds = int(session)
        except (TypeError, ValueError):
            seconds = -1
        if not MIN_SESSION <= seconds <= MAX_SESSION:
            raise _validation(
                f"1 validation error detected: Value '{session}' at 'maxSessionDuration' failed to satisfy "
                f"constraint: Member must have value between {MIN_SESSION} and {MAX_SESSION}"
            )


def _check_boundary(backend: Any, arn: Any) -> None:
    """A permissions boundary is an existing managed policy: "The ARN of the managed policy that is
    used to set the permissions boundary" (IAM API reference, CreateRole PermissionsBoundary,
    PutRolePermissionsBoundary, Errors: NoSuchEntity,
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePermissionsBoundary.html); a typo,
    or a boundary applied before its policy exists, was stored and made every request of the role's
    sessions an HTTP 500 (issue 27, R14B-45)."""
    if not arn:
        return
    from moto.iam.exceptions import NoSuchEntity

    try:
        backend.get_policy(str(arn))
    except Exception:
        print(f"[local cloud] REFUSED a permissions boundary {arn}: no such policy", file=sys.stderr)
        raise NoSuchEntity(f"Policy {arn} does not exist or is not attachable.") from None


def _inline_total(entity: Any, replacing: str, document: Any) -> int:
    others = sum(policy_chars(doc) for name, doc in entity.policies.items() if name != replacing)
    return others + policy_chars(document)


def _checked_inline(original: Any, getter: str, kind: str, limit: int) -> Any:
    """PutRolePolicy / PutUserPolicy: the entity's inline policies together within `limit`."""

    def put_policy(self: Any, name: str, policy_name: str, policy_json: str) -> None:
        _check_identity(policy_json)
        total = _inline_total(getattr(self, getter)(name), policy_name, policy_json)
        if total > limit:
            raise _limit(
                f"Maximum policy size of {limit} bytes exceeded for {kind} {name} "
                f"(its inline policies would have {total} characters)"
            )
        return original(self, name, policy_name, policy_json)

    return put_policy


def install() -> None:
    from moto.iam.models import IAMBackend

    create_role = IAMBackend.create_role

    def checked_create_role(self: Any, role_name: str, assume_role_policy_document: str, path: str, *a, **k):
        description = k.get("description", a[1] if len(a) > 1 else None)
        session = k.get("max_session_duration", a[3] if len(a) > 3 else None)
        _check_role_fields(role_name, path, description, session)
        _check_boundary(self, k.get("permissions_boundary", a[0] if a else None))
        _check_trust(assume_role_policy_document)
        return create_role(self, role_name, assume_role_policy_document, path, *a, **k)

    update_role = IAMBackend.update_role

    def checked_update_role(self: Any, role_name: str, role_description: str, max_session_duration: str):
        _check_role_fields(None, None, role_description, max_session_duration)
        return update_role(self, role_name, role_description, max_session_duration)

    update_trust = IAMBackend.update_assume_role_policy

    def checked_update_trust(self: Any, role_name: str, policy_document: str) -> None:
        self.get_role(role_name)  # NoSuchEntity first
        _check_trust(policy_document)
        return update_trust(self, role_name, policy_document)

    create_policy = IAMBackend.create_policy

    def checked_create_policy(self: Any, description: str, path: str, policy_document: str, *a, **k):
        _check_identity(policy_document)
        size = policy_chars(policy_document)
        if size > MANAGED_POLICY_CHARS:
            raise _limit(
                f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_CHARS} (the policy has {size})"
            )
        return create_policy(self, description, path, policy_document, *a, **k)

    create_version = IAMBackend.create_policy_version

    def checked_create_version(self: Any, policy_arn: str, policy_document: str, set_as_default: bool):
        _check_identity(policy_document)
        size = policy_chars(policy_document)
        if size > MANAGED_POLICY_CHARS:
            raise _limit(
                f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_CHARS} (the policy has {size})"
            )
        return create_version(self, policy_arn, policy_document, set_as_default)

    attach_role_policy = IAMBackend.attach_role_policy

    def checked_attach_role_policy(self: Any, policy_arn: str, role_name: str) -> None:
        attached = self.get_role(role_name).managed_policies
        if policy_arn not in attached and len(attached) >= MANAGED_PER_ENTITY:
            raise _limit(f"Cannot exceed quota for PoliciesPerRole: {MANAGED_PER_ENTITY} (role {role_name})")
        return attach_role_policy(self, policy_arn, role_name)

    put_boundary = IAMBackend.put_role_permissions_boundary

    def checked_put_role_boundary(self: Any, role_name: str, permissions_boundary: str) -> None:
        self.get_role(role_name)  # NoSuchEntity for the role first
        _check_boundary(self, permissions_boundary)
        return put_boundary(self, role_name, permissions_boundary)

    IAMBackend.put_role_permissions_boundary = checked_put_role_boundary
    if hasattr(IAMBackend, "put_user_permissions_boundary"):
        put_user_boundary = IAMBackend.put_user_permissions_boundary

        def checked_put_user_boundary(self: Any, user_name: str, permissions_boundary: str) -> None:
            self.get_user(user_name)
            _check_boundary(self, permissions_boundary)
            return put_user_boundary(self, user_name, permissions_boundary)

        IAMBackend.put_user_permissions_boundary = checked_put_user_boundary
    IAMBackend.create_role = checked_create_role
    IAMBackend.update_role = checked_update_role
    IAMBackend.update_assume_role_policy = checked_update_trust
    IAMBackend.create_policy = checked_create_policy
    IAMBackend.create_policy_version = checked_create_version
    IAMBackend.put_role_policy = _checked_inline(
        IAMBackend.put_role_policy, "get_role", "role", ROLE_INLINE_CHARS
    )
    # The local cloud's administrator holds one small inline policy (iam.bootstrap_admin).
    IAMBackend.put_user_policy = _checked_inline(
        IAMBackend.put_user_policy, "get_user", "user", USER_INLINE_CHARS
    )
    IAMBackend.attach_role_policy = checked_attach_role_policy
