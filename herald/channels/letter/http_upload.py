"""Print by upload: each letter's PDF sent to a print partner's HTTP API with a bearer token.

``multipart`` posts the PDF as the ``file`` part and the manifest as the ``metadata``
part (JSON); ``json`` posts the manifest with the PDF in base64 as ``pdf``. The
delivery id goes as ``Idempotency-Key``, so a partner that honours it prints a retried
letter once. Answers: see ``herald.channels.http_answers`` (2xx accepted, the partner's
id read at ``id_path``; 429/5xx retried; other 4xx permanent). The URL is an account's
setting, so requests go through the SSRF-safe client.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from herald.channels.base import (
    DeliveryResult,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald.channels.http_answers import error_for_status, logged_body, request_error
from herald.channels.http_provider import HttpProvider, HttpSettings
from herald.channels.letter.messages import LetterMessage, RenderedLetter, manifest, render
from herald.http import ssrf


class UploadSettings(HttpSettings):
    """The print partner's endpoint and token, and how it wants the letter."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str
    token: SecretStr
    body_format: Literal["multipart", "json"] = "multipart"
    id_path: str = Field(default="id", description="dotted path of the partner's id")
    timeout: float = Field(default=60.0, gt=0, le=300)


class HttpUploadPrintProvider(HttpProvider[LetterMessage, UploadSettings]):
    """Uploads each letter's PDF to a print partner."""

    channel: ClassVar[str] = "letter"
    name: ClassVar[str] = "http_upload"
    Settings: ClassVar[type[BaseModel]] = UploadSettings

    async def _send(self, message: LetterMessage) -> DeliveryResult:
        letter = await render(message)
        headers = {
            "authorization": f"Bearer {self.settings.token.get_secret_value()}",
            "idempotency-key": message.delivery_id,
        }
        try:
            answer = await self._client.post(
                self.settings.url, headers=headers, **self._body(message, letter)
            )
        except ssrf.UnresolvableUrl as exc:
            raise RetryableDeliveryError(exc.message) from exc
        except ssrf.UnsafeUrl as exc:
            raise PermanentDeliveryError(exc.message) from exc
        except httpx.TransportError as exc:
            raise request_error(exc) from exc
        response = {"status": answer.status_code, "body": logged_body(answer.content)}
        if not answer.is_success:
            raise error_for_status(
                answer.status_code, "", headers=answer.headers, response=response
            )
        return DeliveryResult(
            provider_message_id=_partner_id(answer.content, self.settings.id_path),
            receipt=f"HTTP {answer.status_code}",
            provider_response=response | {"pages": letter.pages},
        )

    def _body(self, message: LetterMessage, letter: RenderedLetter) -> dict[str, Any]:
        details = manifest(message, letter)
        if self.settings.body_format == "json":
            pdf = base64.b64encode(letter.pdf).decode("ascii")
            return {"json": details | {"pdf": pdf}}
        filename = f"{message.delivery_id}.pdf"
        return {
            "files": {"file": (filename, letter.pdf, "application/pdf")},
            "data": {"metadata": json.dumps(details, ensure_ascii=False)},
        }


def _partner_id(content: bytes, path: str) -> str | None:
    """The partner's id for the letter, read at a dotted path of its JSON answer."""
    try:
        value: Any = json.loads(content)
    except ValueError:
        return None
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return str(value) if value is not None else None
