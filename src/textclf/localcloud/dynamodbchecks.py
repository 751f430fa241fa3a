"""DynamoDB answers an expression it cannot parse with ValidationException, HTTP 400, never a 500.

moto's condition parser raised ValueError (`attribute_not_exists(`: "Bad function expression"),
KeyError (a `:value` or `#name` the request does not define) or IndexError (a ProjectionExpression
with an empty name, `a,,b`), which PutItem, UpdateItem and DeleteItem let through as an HTML 500 with
a stack (issue 27, R14B-17); the redeploy lock and its result records are such conditional writes
(release/redeploy.py). DynamoDB's answers (DynamoDB Developer Guide, "Condition expressions",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html,
and "Error handling", ValidationException,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
"Invalid ConditionExpression: Syntax error; token: ...", "... An expression attribute value used
in expression is not defined; attribute value: :v", "... An expression attribute name used in the
document path is not defined; attribute name: #x"; the same for a Scan or Query FilterExpression and
a ProjectionExpression.
"""

from __future__ import annotations

import sys
from typing import Any

FILTER_CALLERS = frozenset({"query", "scan"})


def _refusal(kind: str, error: Exception) -> Exception:
    from moto.dynamodb.exceptions import MockValidationException

    if isinstance(error, KeyError):
        missing = str(error.args[0]) if error.args else "?"
        if missing.startswith("#"):
            detail = (
                "An expression attribute name used in the document path is not defined; "
                f"attribute name: {missing}"
            )
        else:
            detail = (
                f"An expression attribute value used in expression is not defined; attribute value: {missing}"
            )
    else:
        detail = f"Syntax error; {error}"
    message = f"Invalid {kind}: {detail}"
    print(f"[local cloud] REFUSED (DynamoDB ValidationException): {message}", file=sys.stderr)
    return MockValidationException(message)


def _checked_expression(original: Any) -> Any:
    def get_filter_expression(expr: Any, names: Any, values: Any) -> Any:
        try:
            return original(expr, names, values)
        except (ValueError, KeyError, IndexError, RecursionError) as error:
            caller = sys._getframe(1).f_code.co_name  # the backend's query/scan: a FilterExpression
            raise _refusal(
                "FilterExpression" if caller in FILTER_CALLERS else "ConditionExpression", error
            ) from None

    get_filter_expression.__wrapped__ = original  # type: ignore[attr-defined]
    return get_filter_expression


def _checked_parser(original: Any) -> Any:
    """moto's responses parse a request's ConditionExpression (or Scan/Query FilterExpression) with
    this parser before the backend sees it; its parse() raises as get_filter_expression does."""

    def create_condition_expression_parser(expr: Any, names: Any, values: Any) -> Any:
        parser = original(expr, names, values)
        kind = (
            "FilterExpression" if sys._getframe(1).f_code.co_name in FILTER_CALLERS else "ConditionExpression"
        )
        parse = parser.parse

        def checked_parse() -> Any:
            try:
                return parse()
            except (ValueError, KeyError, IndexError, RecursionError) as error:
                raise _refusal(kind, error) from None

        parser.parse = checked_parse
        return parser

    create_condition_expression_parser.__wrapped__ = original  # type: ignore[attr-defined]
    return create_condition_expression_parser


def _checked_projection(original: Any) -> Any:
    def check_projection_expression(expression: str) -> None:
        if not expression:
            from moto.dynamodb.exceptions import MockValidationException

            raise MockValidationException(
                'Invalid ProjectionExpression: Syntax error; token: ",": an attribute name is empty'
            )
        return original(expression)

    check_projection_expression.__wrapped__ = original  # type: ignore[attr-defined]
    return check_projection_expression


def key_problem(table: Any, keys: dict[str, Any]) -> str | None:
    """Why DynamoDB refuses `keys` for `table`'s key schema: an attribute missing, one more, or one
    of another type ("The provided key element does not match the schema", ValidationException,
    GetItem/DeleteItem API reference, Key)."""
    wanted = {table.hash_key_attr: table.hash_key_type}
    if getattr(table, "range_key_attr", None):
        wanted[table.range_key_attr] = table.range_key_type
    if not isinstance(keys, dict) or set(keys) != set(wanted):
        return "The provided key element does not match the schema"
    for name, kind in wanted.items():
        value = keys[name]
        if not isinstance(value, dict) or list(value) != [kind]:
            given = ", ".join(value) if isinstance(value, dict) else type(value).__name__
            return (
                f"The provided key element does not match the schema (key {name}: expected type {kind}, "
                f"given {given})"
            )
    return None


def _checked_keys(original: Any) -> Any:
    def get_keys_value(self: Any, table: Any, keys: dict[str, Any]) -> Any:
        problem = key_problem(table, keys)
        if problem:
            from moto.dynamodb.exceptions import MockValidationException

            raise MockValidationException(problem)
        return original(self, table, keys)

    get_keys_value.__wrapped__ = original  # type: ignore[attr-defined]
    return get_keys_value


def _checked_update_validation(original: Any) -> Any:
    """UpdateExpression: moto's validators raised KeyError for a `#name` or `:value` the request
    does not define (`SET #x = :v` without ExpressionAttributeNames was an HTML 500)."""

    def validate(self: Any) -> Any:
        try:
            return original(self)
        except KeyError as error:
            raise _refusal("UpdateExpression", error) from None

    validate.__wrapped__ = original  # type: ignore[attr-defined]
    return validate


def install() -> None:
    import moto.dynamodb.models as models
    import moto.dynamodb.models.table as table
    import moto.dynamodb.responses as responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.parsing.validators import Validator

    DynamoDBBackend.get_keys_value = _checked_keys(DynamoDBBackend.get_keys_value)
    Validator.validate = _checked_update_validation(Validator.validate)

    models.get_filter_expression = _checked_expression(models.get_filter_expression)
    table.get_filter_expression = _checked_expression(table.get_filter_expression)
    responses.create_condition_expression_parser = _checked_parser(
        responses.create_condition_expression_parser
    )
    responses.check_projection_expression = _checked_projection(responses.check_projection_expression)
