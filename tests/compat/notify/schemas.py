"""GOV.UK Notify's response shapes as JSON Schemas, written from Notify's own documentation
and schemas, never from Herald's models:

- the REST API and client documentation (alphagov/notifications-tech-docs,
  ``source/documentation/_api_docs.md``; docs.notifications.service.gov.uk, "Send a message",
  "Get message status", "Get a template", "Get received text messages"), for the fields each
  answer has;
- the official Python client's integration schemas (alphagov/notifications-python-client,
  ``integration_test/schemas/v2/*.py``) and the API's (alphagov/notifications-api,
  ``app/v2/*/..._schemas.py``), for which are required and their types.

Where the documentation and the older schemas differ (``line_7``, ``postage``, the cost
fields, ``one_click_unsubscribe``), the documentation's newer shape is used.
"""

from __future__ import annotations

from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
UUID = {"type": "string", "format": "uuid"}
NULLABLE_STRING = {"type": ["string", "null"]}
# Notify writes times as "2024-05-17T15:58:38.342838Z".
TIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"}
NULLABLE_TIME = {"anyOf": [TIME, {"type": "null"}]}
TEMPLATE_TYPES = ["sms", "email", "letter"]

TEMPLATE_REF = {
    "type": "object",
    "properties": {"id": UUID, "version": {"type": "integer"}, "uri": {"type": "string"}},
    "required": ["id", "version", "uri"],
}


def _post_response(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "type": "object",
        "properties": {
            "id": UUID,
            "reference": NULLABLE_STRING,
            "content": content,
            "uri": {"type": "string", "format": "uri"},
            "template": TEMPLATE_REF,
            "scheduled_for": NULLABLE_STRING,
        },
        "required": ["id", "reference", "content", "uri", "template"],
    }


POST_SMS_RESPONSE = _post_response(
    {
        "type": "object",
        "properties": {"body": {"type": "string"}, "from_number": NULLABLE_STRING},
        "required": ["body"],
    }
)
POST_EMAIL_RESPONSE = _post_response(
    {
        "type": "object",
        "properties": {
            "from_email": {"type": "string", "format": "email"},
            "body": {"type": "string"},
            "subject": {"type": "string"},
            "one_click_unsubscribe_url": NULLABLE_STRING,
        },
        "required": ["body", "from_email", "subject"],
    }
)
POST_LETTER_RESPONSE = _post_response(
    {
        "type": "object",
        "properties": {"body": {"type": "string"}, "subject": {"type": "string"}},
        "required": ["body", "subject"],
    }
)
POST_PRECOMPILED_LETTER_RESPONSE = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "id": UUID,
        "reference": {"type": "string"},
        "postage": {"enum": ["first", "second", "economy"]},
    },
    "required": ["id", "reference", "postage"],
}

_LINES = {f"line_{n}": NULLABLE_STRING for n in range(1, 8)}
GET_NOTIFICATION_RESPONSE = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "id": UUID,
        "reference": NULLABLE_STRING,
        "email_address": NULLABLE_STRING,
        "phone_number": NULLABLE_STRING,
        **_LINES,
        "postcode": NULLABLE_STRING,
        "postage": NULLABLE_STRING,
        "type": {"enum": TEMPLATE_TYPES},
        "status": {"type": "string"},
        "template": TEMPLATE_REF,
        "body": {"type": "string"},
        "subject": NULLABLE_STRING,
        "created_at": TIME,
        "created_by_name": NULLABLE_STRING,
        "sent_at": NULLABLE_TIME,
        "completed_at": NULLABLE_TIME,
        "scheduled_for": NULLABLE_STRING,
        "one_click_unsubscribe": {"type": "string"},
        "is_cost_data_ready": {"type": "boolean"},
        "cost_in_pounds": {"type": ["number", "null"]},
        "cost_details": {"type": "object"},
    },
    "required": [
        "id", "reference", "email_address", "phone_number", "line_1", "line_2", "line_3",
        "line_4", "line_5", "line_6", "postcode", "type", "status", "template", "body",
        "created_at", "sent_at", "completed_at", "is_cost_data_ready",
    ],
}  # fmt: skip
LINKS = {
    "type": "object",
    "properties": {"current": {"type": "string"}, "next": {"type": "string"}},
    "additionalProperties": False,
    "required": ["current"],
}
GET_NOTIFICATIONS_RESPONSE = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "notifications": {"type": "array", "items": GET_NOTIFICATION_RESPONSE},
        "links": LINKS,
    },
    "additionalProperties": False,
    "required": ["notifications", "links"],
}

GET_TEMPLATE_RESPONSE = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "id": UUID,
        "name": {"type": "string"},
        "type": {"enum": TEMPLATE_TYPES},
        "created_at": TIME,
        "updated_at": NULLABLE_TIME,
        "created_by": {"type": "string"},
        "version": {"type": "integer"},
        "body": {"type": "string"},
        "subject": NULLABLE_STRING,
        "letter_contact_block": NULLABLE_STRING,
        "postage": NULLABLE_STRING,
    },
    "required": ["id", "name", "type", "created_at", "updated_at", "version", "created_by",
                 "body"],
}  # fmt: skip
GET_TEMPLATES_RESPONSE = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {"templates": {"type": "array", "items": GET_TEMPLATE_RESPONSE}},
    "required": ["templates"],
}
POST_TEMPLATE_PREVIEW_RESPONSE = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "id": UUID,
        "type": {"enum": TEMPLATE_TYPES},
        "version": {"type": "integer"},
        "body": {"type": "string"},
        "subject": NULLABLE_STRING,
        "html": NULLABLE_STRING,
        "postage": NULLABLE_STRING,
    },
    "required": ["id", "type", "version", "body"],
    "additionalProperties": False,
}

RECEIVED_TEXT = {
    "type": "object",
    "properties": {
        "id": UUID,
        "user_number": {"type": "string"},
        "created_at": TIME,
        "service_id": UUID,
        "notify_number": {"type": "string"},
        "content": {"type": "string"},
    },
    "required": ["id", "user_number", "created_at", "service_id", "notify_number", "content"],
    "additionalProperties": False,
}
GET_RECEIVED_TEXTS_RESPONSE = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "received_text_messages": {"type": "array", "items": RECEIVED_TEXT},
        "links": LINKS,
    },
    "required": ["received_text_messages", "links"],
    "additionalProperties": False,
}

ERROR_RESPONSE = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "status_code": {"type": "integer"},
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                "required": ["error", "message"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["status_code", "errors"],
    "additionalProperties": False,
}


def assert_shape(instance: Any, schema: dict[str, Any]) -> None:
    """Fail naming every way ``instance`` departs from Notify's documented shape."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not problems, problems
