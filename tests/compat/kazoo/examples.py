"""Seed 002's curl examples, copied as the seed writes them (shapes of its answers are in the
tests). Two cannot run as written and are mended here, saying how."""

from __future__ import annotations

GET_SYSTEM = """curl -v -X GET \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    https://apps.hostedpbx.ie:8443/v2/notifications"""

# The seed's request for "GET /v2/notifications" puts the account in the URL (the listing of
# an account's templates, next section); it runs as written too.
GET_SYSTEM_AS_WRITTEN = """curl -v -X GET \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications"""

GET_ACCOUNT = """curl -v -X GET \\
      -H "X-Auth-Token: {AUTH_TOKEN}" \\
      https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications"""

GET_CONFIGURATION = """curl -v -X GET \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    https://apps.hostedpbx.ie:8443/v2/notifications/{NOTIFICATION_ID}"""

PUT_ACCOUNT = """curl -v -X PUT \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    -d '{
    "data": {
        "id":"{NOTIFICATION_ID}",
        "to": {
            "type": "users",
            "email_addresses": ["user@account.com"]
        },
        "from": "reseller@resellerdomain.com",
        "subject": "Hello {{user.first_name}}, you recieved a new voicemail!",
        "enabled": true,
        "template_charset": "utf-8"
    }}' \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications"""

GET_ONE = """curl -v -X GET \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/{NOTIFICATION_ID}"""

POST_ONE = """curl -v -X POST \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    -d '{
    "data": {
        "id":"{NOTIFICATION_ID}",
        "to": {
            "type": "users",
            "email_addresses": ["user@account.com"]
        },
        "from": "reseller@resellerdomain.com",
        "subject": "Hello {{user.first_name}}, you recieved a new voicemail!",
        "enabled": true,
        "template_charset": "utf-8",
        "macros": {
            "user.first_name": {
                "i18n_label": "first_name",
                "friendly_name": "First Name",
                "description": "If the voicemail box has an owner id, this is the first name of that user.  Not always present"
            },
            "user.last_name": {
                "i18n_label": "last_name",
                "friendly_name": "Last Name",
                "description": "If the voicemail box has an owner id, this is the last name of that user.  Not always present"
            }
        }
    }}' \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/{NOTIFICATION_ID}"""  # noqa: E501

DELETE_ONE = """curl -v -X DELETE \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/{NOTIFICATION_ID}"""

GET_HTML = """curl -v -X GET \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    -H 'Accept: text/html' \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/{NOTIFICATION_ID}"""

GET_PLAIN = """curl -v -X GET \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    -H 'Accept: text/plain' \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/{NOTIFICATION_ID}"""

POST_PLAIN = """curl -v -X POST \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    -H 'Content-Type: text/plain' \\
    -d 'some plain text template code' \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/{NOTIFICATION_ID}"""

POST_HTML = """curl -v -X POST \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    -H 'Content-Type: text/html' \\
    -d '<div>
            <p>Some Html and {{macro.key}} replaced on render</p>
       </div>' \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/{NOTIFICATION_ID}"""

PREVIEW = """curl -v -X POST \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    -H 'Content-Type: application/json' \\
    -d '{"data": {
        "to": {"email_addresses": ["me@iptelecom.com"]},
        "from": "hostedbpx@iptelecom.ie",
        "subject": "Testing NOTIFICATION",
        "html": "SSUyNTIwJTI1dTI2NjElMjUyMFVuaWNvZGUlMjUyMQ==",
        "plain": "You just recieved an email! It was sent to {{user.email}}",
        "enabled": true
        }}' \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/{NOTIFICATION_ID}/preview"""

SMTP_LOG = """curl -v -X GET \\
      -H "X-Auth-Token: {AUTH_TOKEN}" \\
      -H 'Content-Type: text/plain' \\
      https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/smtplog"""

SMTP_LOG_ITEM = """curl -v -X GET \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/smtplog/{SMTP_LOG_ID}"""

# The seed writes ``-d '{} \\`` (its quote never closes): the body meant is ``{}``.
CUSTOMER_UPDATE_ALL = """curl -v -X POST \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    -H 'Content-Type: text/plain' \\
    -d '{}' \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/customer_update/message"""

CUSTOMER_UPDATE_ALL_FROM_RESELLER = """curl -v -X POST \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    -H 'Content-Type: text/plain' \\
    -d '{}' \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{SENDER(RESELLER)_ACCOUNT_ID}/notifications/customer_update/message"""

CUSTOMER_UPDATE_ONE = """curl -v -X POST \\
    -H "X-Auth-Token: {AUTH_TOKEN}" \\
    -H 'Content-Type: text/plain' \\
    -d '{"data": {"recipient_id": "33ca3929ed585e0e423eb39e4ffe1452"}}' \\
    https://apps.hostedpbx.ie:8443/v2/accounts/{ACCOUNT_ID}/notifications/customer_update/message"""

# The variations' bodies, and the full document (``recipient_id`` and ``user_type`` are the
# seed's example ids: the tests give their account and user those ids).
ALL_USERS = '{"data": {"user_type": "all_users"}}'
PARTICULAR_USER = '{"data": {"user_type": "{ACCOUNT_ID}"}}'
ADMINS_ONLY = '{"data": {"user_type": "admins_only"}}'
FULL_DOCUMENT = """{
    "data": {
        "recipient_id": "33ca3929ed585e0e423eb39e4ffe1452",
        "user_type": "3d9b564d5c95d52d81a2e49ea0c57941",
        "id": "customer_update",
        "account_overridden": true,
        "enabled": true,
        "category": "user",
        "friendly_name": "Customer update",
        "from": "info@onnet.su",
        "subject": "Test Reseller customer update",
        "bcc": {
            "email_addresses": [],
            "type": ""
        },
        "cc": {
            "email_addresses": [],
            "type": ""
        },
        "macros": {
            "user.email": {
                "description": "Email of the user",
                "friendly_name": "Email",
                "i18n_label": "user_email"
            },
            "user.first_name": {
                "description": "First Name",
                "friendly_name": "First Name",
                "i18n_label": "first_name"
            },
            "user.last_name": {
                "description": "Last Name",
                "friendly_name": "Last Name",
                "i18n_label": "last_name"
            },
            "user.timezone": {
                "description": "Timezone of the user",
                "friendly_name": "Timezone",
                "i18n_label": "user_timezone"
            },
            "user.username": {
                "description": "Username",
                "friendly_name": "Username",
                "i18n_label": "username"
            }
        },
        "template_charset": "utf-8",
        "html": "PHA+RGVhciB7e3VzZXIuZmlyc3RfbmFtZX19IHt7dXNlci5sYXN0X25hbWV9fS48L3A+CjxwPkhlcmUgYXJlIHNvbWUgbmV3cyB0aGF0IHdlIGhhdmUgc2VsZWN0ZWQgZm9yIHlvdTwvcD4KPHA+QmVzdCByZWdhcmRzLDwvcD4KPHA+T25OZXQgSW5ub3ZhdGlvbnMgTGltaXRlZC48L3A+",
        "plain": "Dear {{user.first_name}} {{user.last_name}}.\\n\\nHere are some more news that we have selected for you.\\n\\nBest regards,\\nOnNet Innovations Limited.",
        "templates": {
            "text/html": {
                "length": 161
            },
            "text/plain": {
                "length": 136
            }
        }
    }
}"""  # noqa: E501
# The seed's object ends "...136 } }, } }": a trailing comma no JSON reader takes, left out.
SEED_RECIPIENT_ID = "33ca3929ed585e0e423eb39e4ffe1452"
SEED_USER_ID = "3d9b564d5c95d52d81a2e49ea0c57941"
