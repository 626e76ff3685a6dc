from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from kefu.core.validators import (
    luhn_check_digit,
    luhn_valid,
    mask_id_number,
    mask_phone,
    parse_phone,
    resident_id_check_char,
    uscc_check_char,
    validate_resident_id,
    validate_uscc,
)


@pytest.mark.parametrize(
    "spelling",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "008613812345678", "+8613812345678"],
)
def test_mobile_spellings_normalise_to_one_key(spelling):
    phone = parse_phone(spelling)
    assert phone.e164 == "+8613812345678"
    assert phone.kind == "mobile"


@pytest.mark.parametrize(
    ("spelling", "e164", "ext"),
    [
        ("010-12345678", "+861012345678", ""),
        ("0571 8765 4321", "+8657187654321", ""),
        ("(0571)87654321转123", "+8657187654321", "123"),
        ("0571-87654321 ext 9", "+8657187654321", "9"),
    ],
)
def test_landlines_with_area_code_and_extension(spelling, e164, ext):
    phone = parse_phone(spelling)
    assert (phone.e164, phone.kind, phone.extension) == (e164, "landline", ext)


@pytest.mark.parametrize("bad", ["", "12345", "1381234567", "138123456789", "abc13812345678", "+1 202 555 0101",
                                 "23812345678"])
def test_bad_phones_are_refused_with_a_message(bad):
    with pytest.raises(ValidationError) as info:
        parse_phone(bad)
    assert info.value.messages[0]


def test_masking_keeps_prefix_and_last_four():
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("+861012345678") == "010****5678"
    assert mask_phone("+8657187654321") == "0571****4321"
    assert mask_id_number("11010519491231002X") == "1101**********002X"


def test_resident_id_check_digit_from_the_standard_example():
    # The worked example of GB 11643-1999.
    assert resident_id_check_char("11010519491231002") == "X"
    assert validate_resident_id(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ("110105194912310021", "id_check"),  # wrong check digit
        ("11010519491331002X", "id_birth"),  # month 13
        ("1101051949123100", "id_format"),  # too short
        ("11010520991231002X", "id_birth"),  # born in the future
    ],
)
def test_resident_id_errors_say_what_is_wrong(bad, code):
    with pytest.raises(ValidationError) as info:
        validate_resident_id(bad)
    assert info.value.code == code


def test_unified_social_credit_code():
    body = "91330106MA2B3C4D5"
    code = body + uscc_check_char(body)
    assert validate_uscc(code.lower()) == code
    wrong = body + ("0" if code[-1] != "0" else "1")
    with pytest.raises(ValidationError):
        validate_uscc(wrong)
    with pytest.raises(ValidationError):
        validate_uscc("91330106MA2B3C4DI0")  # I is not in the alphabet


def test_luhn_catches_a_single_wrong_digit_and_a_swap():
    number = "10000001" + luhn_check_digit("10000001")
    assert luhn_valid(number)
    assert not luhn_valid("10000002" + number[-1])
    assert not luhn_valid("10000010" + number[-1])
