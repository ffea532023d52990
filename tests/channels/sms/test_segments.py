"""SMS segment counts against hand-checked vectors (GSM 03.38 and UCS-2)."""

from __future__ import annotations

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest

from herald.channels.sms.segments import GSM_BASIC, GSM_EXTENSION, SegmentCount, count_segments

EMOJI = "\U0001f600"  # outside the BMP: a surrogate pair in UTF-16


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€[]{}", "GSM-7", 10, 1),
        ("^\\~|\f", "GSM-7", 10, 1),
        ("a" * 158 + "€", "GSM-7", 160, 1),
        ("a" * 159 + "€", "GSM-7", 161, 2),
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", "GSM-7", 42, 1),
        ("ą" * 70, "UCS-2", 70, 1),
        ("ą" * 71, "UCS-2", 71, 2),
        ("ą" * 134, "UCS-2", 134, 2),
        ("ą" * 135, "UCS-2", 135, 3),
        (EMOJI, "UCS-2", 2, 1),
        ("a" * 68 + EMOJI, "UCS-2", 70, 1),
        ("a" * 69 + EMOJI, "UCS-2", 71, 2),
    ],
)
def test_hand_checked_vectors(text: str, encoding: str, characters: int, segments: int) -> None:
    result = count_segments(text)
    assert (result.encoding, result.characters, result.segments) == (
        encoding,
        characters,
        segments,
    )


def test_an_escape_is_never_split_across_segments() -> None:
    # 306 septets would fit two parts of 153, but the euro sign cannot straddle the
    # boundary after 152 plain characters, so the message needs a third part.
    assert count_segments("a" * 152 + "€" + "a" * 152).segments == 3
    assert count_segments("a" * 151 + "€" + "a" * 153).segments == 2


def test_a_surrogate_pair_is_never_split_across_segments() -> None:
    assert count_segments("ą" * 66 + EMOJI + "ą" * 66).segments == 3
    assert count_segments("ą" * 65 + EMOJI + "ą" * 67).segments == 2


def test_characters_forcing_ucs2_are_listed_once_in_order() -> None:
    result = count_segments(f"Cześć {EMOJI}! Łódź ść {EMOJI}")
    assert result == SegmentCount("UCS-2", 20, 1, ["ś", "ć", EMOJI, "Ł", "ó", "ź"])


def test_gsm_text_lists_no_unicode_characters() -> None:
    assert count_segments("Hello {name}, €5").unicode_characters == []


def test_tables_match_the_gsm0338_codec() -> None:
    # Every BMP character: one septet in the basic table, two in the extension table,
    # or not encodable -- except ESC, which is the escape itself, not text.
    for code in (c for c in range(0x10000) if not 0xD800 <= c < 0xE000 and c != 0x1B):
        char = chr(code)
        try:
            septets = len(char.encode("gsm03.38"))
        except UnicodeEncodeError:
            septets = 0
        expected = 1 if char in GSM_BASIC else 2 if char in GSM_EXTENSION else 0
        assert septets == expected, repr(char)
