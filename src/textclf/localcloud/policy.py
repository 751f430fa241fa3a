"""IAM policy evaluation for the local cloud, as AWS documents it.

Pure functions over policy documents and one request (principal, action, resource, context keys),
so the rules can be read and tested on their own. `textclf.localcloud.iam` feeds them each request.

The rules (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
- an explicit Deny in any policy that applies wins;
- within one account, an Allow in an identity-based policy or in the resource-based policy
  grants the request, except that a permissions boundary must allow it too: it limits every
  identity-based grant, and a resource-based grant to a role's ARN, which reaches the role's
  sessions through the role ("Policy evaluation for requests within a single account",
  reference_policies_evaluation-logic_policy-eval-basics.html: "Resource-based policies that grant
  permissions to an IAM role ARN are limited by an implicit deny in a permissions boundary"). A
  grant to the session's own ARN, to an IAM user's ARN or to every principal ("*") is not;
- otherwise the request is implicitly denied.
Conditions (reference_policies_elements_condition_operators.html): a key that the request does
not carry makes a plain operator false, a negated operator (StringNotEquals, ...) true, `...IfExists`
true; `ForAllValues` over no values is true, `ForAnyValue` false. A key this local cloud cannot
supply for the request raises `UnknownConditionKey`: a local double must not guess, and a guess of
"allow" would hide a policy that real AWS would refuse.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Decision = Literal["allow", "deny", None]


class UnknownConditionKey(RuntimeError):
    """A policy condition names a key the local cloud cannot evaluate for this request."""


class MalformedStoredPolicy(UnknownConditionKey):
    """A stored policy document that is not one (a statement or Condition that is not an object).

    IAM and S3 refuse such documents when they are put (MalformedPolicyDocument, MalformedPolicy);
    should one still be stored, the request it would decide is refused naming it, never answered with
    a stack (issue 27, R14B-15: `"Statement": ["x"]` made every request on its bucket an HTTP 500).
    A subclass of UnknownConditionKey: every caller already refuses on that."""


@dataclass(frozen=True)
class Request:
    principal: str  # the caller's ARN (an IAM user, or arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION)
    action: str  # service:Action
    resource: str  # the ARN the action is authorized on, or "*" for actions without a resource type
    context: dict[str, list[str]] = field(default_factory=dict)  # condition key (lower case) -> values
    known_keys: frozenset[str] = frozenset()  # keys this request could carry (lower case)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM wildcards: `*` any run of characters (slashes and colons included), `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def action_matches(patterns: Any, action: str) -> bool:
    return any(_wildcard(p, action, ignore_case=True) for p in _as_list(patterns))


def resource_matches(patterns: Any, resource: str) -> bool:
    return any(_wildcard(p, resource) for p in _as_list(patterns))


def principal_match(element: Any, principal: str, account: str) -> Literal["direct", "role", None]:
    """How a resource policy's Principal names the caller: "direct" (the session's or user's own
    ARN, a service, a federated provider, or "*"), "role" (the ARN of the role whose session calls:
    a grant a permissions boundary still limits), or None."""
    if element == "*":
        return "direct"
    if not isinstance(element, dict):
        return None
    found: Literal["direct", "role", None] = None
    root = f"arn:aws:iam::{account}:root"
    for kind, values in element.items():
        for value in _as_list(values):
            if value == account:
                value = root
            if kind == "AWS" and (value == "*" or value == principal):
                return "direct"
            if kind in ("Service", "Federated") and value == principal:
                return "direct"
            if kind == "AWS" and _role_of_session(principal) == value:
                found = "role"
    return found


def principal_matches(element: Any, principal: str, account: str) -> bool:
    """A resource policy's Principal: "*", {"AWS": ARN | account | root ARN}, {"Service": ...}.

    The account (its id or root ARN) names the account itself: it does not grant the account's
    users and roles directly, it lets the account's administrator grant them with identity-based
    policies (IAM User Guide, "AWS JSON policy elements: Principal", AWS account principals). So it
    matches the root only; callers evaluate delegation by asking as the root (kms key policies)."""
    return principal_match(element, principal, account) is not None


def _role_of_session(principal: str) -> str | None:
    """arn:aws:sts::A:assumed-role/R/S -> arn:aws:iam::A:role/R (how a role grant names its sessions)."""
    match = re.fullmatch(r"arn:aws:sts::(\d+):assumed-role/([^/]+)/.+", principal)
    return f"arn:aws:iam::{match.group(1)}:role/{match.group(2)}" if match else None


# --- conditions ------------------------------------------------------------------------------

_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}
_NEGATED |= {"NumericNotEquals", "DateNotEquals", "NotIpAddress"}


def _compare(operator: str, actual: str, expected: str) -> bool:
    if operator in ("StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals"):
        return actual == expected
    if operator in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() == expected.lower()
    if operator in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike"):
        return _wildcard(expected, actual)
    if operator == "Bool":
        return actual.lower() == str(expected).lower()
    if operator.startswith("Numeric"):
        a, e = float(actual), float(expected)
        return {
            "NumericEquals": a == e,
            "NumericNotEquals": a == e,
            "NumericLessThan": a < e,
            "NumericLessThanEquals": a <= e,
            "NumericGreaterThan": a > e,
            "NumericGreaterThanEquals": a >= e,
        }[operator]
    if operator.startswith("Date"):
        a, e = datetime.fromisoformat(actual), datetime.fromisoformat(str(expected))
        return {
            "DateEquals": a == e,
            "DateNotEquals": a == e,
            "DateLessThan": a < e,
            "DateLessThanEquals": a <= e,
            "DateGreaterThan": a > e,
            "DateGreaterThanEquals": a >= e,
        }[operator]
    if operator in ("IpAddress", "NotIpAddress"):
        return ipaddress.ip_address(actual) in ipaddress.ip_network(str(expected), strict=False)
    raise UnknownConditionKey(f"condition operator {operator} is not supported by the local cloud")


def _condition_holds(operator: str, key: str, expected: Any, request: Request) -> bool:
    qualifier, _, base = operator.rpartition(":")  # ForAnyValue:StringLike -> (ForAnyValue, StringLike)
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    lowered = key.lower()
    if lowered not in request.known_keys and lowered not in request.context:
        raise UnknownConditionKey(
            f"the policy's condition key {key!r} ({operator}) cannot be evaluated by the local cloud "
            f"for {request.action}; it refuses rather than guess (add the key to localcloud/iam.py)"
        )
    values = request.context.get(lowered)
    expected_values = [str(v) for v in _as_list(expected)]
    if base == "Null":
        return (values is None) == (str(expected).lower() == "true")
    if values is None:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return if_exists or base in _NEGATED
    negated = base in _NEGATED

    def one(actual: str) -> bool:
        matched = any(_compare(base, actual, e) for e in expected_values)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    # A single-valued key: its value must satisfy the operator (any listed expected value matches).
    return all(one(v) for v in values)


def conditions_hold(condition: dict[str, Any] | None, request: Request) -> bool:
    if condition is not None and not isinstance(condition, dict):
        raise MalformedStoredPolicy(f"a policy statement's Condition is not an object: {condition!r:.100}")
    for operator, pairs in (condition or {}).items():
        if not isinstance(pairs, dict):
            raise MalformedStoredPolicy(f"a policy condition's {operator} is not an object: {pairs!r:.100}")
        for key, expected in pairs.items():
            if not _condition_holds(operator, key, expected, request):
                return False
    return True


# --- statements and policies ---------------------------------------------------------------


def _statements(policy: Any) -> list[dict[str, Any]]:
    """A policy's statements; a document that is not an object, or a statement that is not one,
    raises MalformedStoredPolicy."""
    if not isinstance(policy, dict):
        raise MalformedStoredPolicy(f"a stored policy is not a JSON object: {policy!r:.100}")
    statements = _as_list(policy.get("Statement", []))
    for statement in statements:
        if not isinstance(statement, dict):
            raise MalformedStoredPolicy(f"a stored policy's statement is not an object: {statement!r:.100}")
    return statements


def statement_applies(
    statement: dict[str, Any], request: Request, account: str, check_principal: bool = False
) -> bool:
    if "Action" in statement and not action_matches(statement["Action"], request.action):
        return False
    if "NotAction" in statement and action_matches(statement["NotAction"], request.action):
        return False
    if "Resource" in statement and not resource_matches(statement["Resource"], request.resource):
        return False
    if "NotResource" in statement and resource_matches(statement["NotResource"], request.resource):
        return False
    if check_principal:
        if "Principal" in statement and not principal_matches(
            statement["Principal"], request.principal, account
        ):
            return False
        if "NotPrincipal" in statement and principal_matches(
            statement["NotPrincipal"], request.principal, account
        ):
            return False
    return conditions_hold(statement.get("Condition"), request)


def evaluate(
    policies: Iterable[dict[str, Any]], request: Request, account: str, resource_policy: bool = False
) -> Decision:
    """ "deny" if a statement denies, else "allow" if one allows, else None (nothing said)."""
    decision: Decision = None
    for policy in policies:
        for statement in _statements(policy):
            if not statement_applies(statement, request, account, check_principal=resource_policy):
                continue
            if statement.get("Effect") == "Deny":
                return "deny"
            if statement.get("Effect") == "Allow":
                decision = "allow"
    return decision


def _resource_grant(policy: dict[str, Any], request: Request, account: str) -> str | None:
    """A resource policy's say: "deny", "direct" (an Allow naming the caller itself), "role" (only
    Allows naming the caller's role, which its permissions boundary still limits), or None."""
    grant = None
    for statement in _statements(policy):
        if not statement_applies(statement, request, account, check_principal=True):
            continue
        if statement.get("Effect") == "Deny":
            return "deny"
        if statement.get("Effect") != "Allow":
            continue
        how = (
            principal_match(statement["Principal"], request.principal, account)
            if "Principal" in statement
            else "direct"
        )
        grant = "direct" if "direct" in (grant, how) else how
    return grant


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str  # AWS's phrasing: "because no identity-based policy allows the X action"


def authorize(
    request: Request,
    account: str,
    identity: list[dict[str, Any]],
    boundary: dict[str, Any] | None = None,
    resource_policy: dict[str, Any] | None = None,
    resource_policy_kind: str = "resource-based policy",
) -> Verdict:
    """One account's evaluation: explicit deny, then identity (within its boundary) or resource grant."""
    identity_decision = evaluate(identity, request, account)
    boundary_decision = evaluate([boundary], request, account) if boundary is not None else "allow"
    resource_decision = _resource_grant(resource_policy, request, account) if resource_policy else None
    if "deny" in (identity_decision, resource_decision):
        where = "an identity-based policy" if identity_decision == "deny" else f"a {resource_policy_kind}"
        return Verdict(False, f"with an explicit deny in {where}")
    if boundary_decision == "deny":
        return Verdict(False, "with an explicit deny in a permissions boundary")
    if resource_decision == "direct" or (resource_decision == "role" and boundary_decision == "allow"):
        return Verdict(True, f"allowed by the {resource_policy_kind}")
    if resource_decision == "role" and identity_decision != "allow":
        # The grant names the role, so the role's boundary limits it (single-account evaluation).
        return Verdict(False, f"because no permissions boundary allows the {request.action} action")
    if identity_decision == "allow" and boundary_decision == "allow":
        return Verdict(True, "allowed by an identity-based policy")
    if identity_decision == "allow":
        return Verdict(False, f"because no permissions boundary allows the {request.action} action")
    if resource_policy is not None and not identity:
        return Verdict(False, f"because no statement of the {resource_policy_kind} allows it")
    return Verdict(False, f"because no identity-based policy allows the {request.action} action")
