"""Standard Webhooks signing, checked against the spec's published test vector."""

from __future__ import annotations

import base64

import pytest

from herald.webhooks.signing import (
    WebhookVerificationError,
    generate_secret,
    sign,
    verify,
)

# The vector of the reference libraries' test suites (standard-webhooks, test_sign_function).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def vector_headers() -> dict[str, str]:
    return sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)


def test_sign_matches_the_published_vector() -> None:
    assert vector_headers() == {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }


def test_secret_without_prefix_signs_the_same() -> None:
    bare = VECTOR_SECRET.removeprefix("whsec_")
    assert sign(bare, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == vector_headers()


def test_generated_secret_is_prefixed_base64_of_32_bytes() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert generate_secret() != secret


def test_verify_accepts_a_fresh_signature_with_any_header_case() -> None:
    headers = {name.upper(): value for name, value in vector_headers().items()}
    verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 10)


def test_verify_accepts_one_matching_signature_among_several() -> None:
    headers = vector_headers()
    others = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1a,AAAA"
    headers["webhook-signature"] = f"{others} {headers['webhook-signature']}"
    verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_a_generated_secret_round_trips() -> None:
    secret = generate_secret()
    headers = sign(secret, "dlv_1", 1_700_000_000, b"{}")
    verify(secret, headers, b"{}", now=1_700_000_000)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"webhook-id": ""}, "missing header webhook-id"),
        ({"webhook-timestamp": ""}, "missing header webhook-timestamp"),
        ({"webhook-signature": ""}, "missing header webhook-signature"),
        ({"webhook-timestamp": "hello"}, "invalid webhook-timestamp"),
        ({"webhook-timestamp": "+1614265330"}, "invalid webhook-timestamp"),
        ({"webhook-id": "msg_other"}, "no signature matches"),
        ({"webhook-signature": VECTOR_SIGNATURE.replace("v1,", "v2,")}, "no signature matches"),
        ({"webhook-signature": VECTOR_SIGNATURE.replace("g0hM", "g1hM")}, "no signature matches"),
    ],
)
def test_verify_refuses_bad_headers(change: dict[str, str], message: str) -> None:
    headers = vector_headers() | change
    with pytest.raises(WebhookVerificationError, match=message):
        verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_verify_refuses_a_changed_body() -> None:
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(VECTOR_SECRET, vector_headers(), VECTOR_BODY + b" ", now=VECTOR_TIMESTAMP)


def test_verify_refuses_another_secret() -> None:
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(generate_secret(), vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP)


@pytest.mark.parametrize(("offset", "message"), [(301, "too old"), (-301, "too far in the future")])
def test_verify_refuses_timestamps_outside_the_tolerance(offset: int, message: str) -> None:
    with pytest.raises(WebhookVerificationError, match=message):
        verify(VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP + offset)
    now = VECTOR_TIMESTAMP + offset
    verify(VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=now, tolerance=301)


def test_verify_uses_the_clock_by_default() -> None:
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(VECTOR_SECRET, vector_headers(), VECTOR_BODY)


@pytest.mark.parametrize("msg_id", ["", "msg.1"])
def test_sign_refuses_ids_that_would_blur_the_signed_content(msg_id: str) -> None:
    with pytest.raises(ValueError, match="message id"):
        sign(VECTOR_SECRET, msg_id, VECTOR_TIMESTAMP, VECTOR_BODY)


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!"])
def test_malformed_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        sign(secret, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
