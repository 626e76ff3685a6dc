"""Validators for Chinese identifiers and phone numbers. Messages name the problem for a clerk."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# GB 11643-1999: weights and check characters of the 18-digit resident identity number.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")

# GB 32100-2015: unified social credit code (统一社会信用代码) alphabet and weights.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def normalize_id_number(value: str) -> str:
    return value.strip().replace(" ", "").upper()


def resident_id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_resident_id(value: str) -> str:
    """Return the normalised 18-digit ID number or raise ValidationError."""
    number = normalize_id_number(value)
    if not _ID_RE.match(number):
        raise ValidationError(
            _("ID number must be 18 characters: 17 digits and a final digit or X."), code="id_format"
        )
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise ValidationError(_("ID number contains an impossible birth date."), code="id_birth") from exc
    if born.year < 1900 or born > dt.date.today():
        raise ValidationError(_("ID number contains an impossible birth date."), code="id_birth")
    if resident_id_check_char(number[:17]) != number[17]:
        raise ValidationError(_("ID number check digit is wrong; please re-check the number."), code="id_check")
    return number


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    """Return the normalised unified social credit code or raise ValidationError."""
    code = normalize_id_number(value)
    if not _USCC_RE.match(code):
        raise ValidationError(
            _("Unified social credit code must be 18 characters of digits and capital letters "
              "(no I, O, S, V, Z)."),
            code="uscc_format",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("Unified social credit code check character is wrong; please re-check it."), code="uscc_check"
        )
    return code


@dataclass(frozen=True)
class Phone:
    e164: str  # "+8613812345678", the indexed lookup key
    kind: str  # "mobile" or "landline"
    extension: str

    @property
    def national(self) -> str:
        digits = self.e164.removeprefix("+86")
        return digits if self.kind == "mobile" else "0" + digits


_PHONE_JUNK = re.compile(r"[\s\-()（）]")


def parse_phone(value: str) -> Phone:
    """Parse a mainland mobile or landline number in any common spelling.

    Accepts "138 1234 5678", "+86 138-1234-5678", "008613812345678", "010-12345678",
    "0571 8765 4321 转 123" (extension). Raises ValidationError with a clerk-readable message.
    """
    raw = (value or "").strip()
    if not raw:
        raise ValidationError(_("Phone number is required."), code="phone_required")
    extension = ""
    match = re.split(r"(?:转|ext\.?|x|#)", raw, maxsplit=1, flags=re.IGNORECASE)
    if len(match) == 2:
        raw, extension = match[0], re.sub(r"\D", "", match[1])
    cleaned = _PHONE_JUNK.sub("", raw)
    if cleaned.startswith("0086"):
        cleaned = "+86" + cleaned[4:]
    if re.fullmatch(r"\+?\d{1,6}", cleaned):
        raise ValidationError(_("Phone number is too short: a mobile has 11 digits, a landline an area code "
                                "and 7 or 8 digits."), code="phone_short")
    if not re.fullmatch(r"\+?\d{5,20}", cleaned):
        raise ValidationError(_("Phone number may contain only digits, spaces, dashes and a leading +."),
                              code="phone_chars")
    try:
        parsed = phonenumbers.parse(cleaned, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Phone number is not a valid mainland China number."), code="phone_parse") from exc
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            _("Phone number is not a valid mainland China mobile or landline number."), code="phone_invalid"
        )
    ntype = phonenumbers.number_type(parsed)
    if ntype == phonenumbers.PhoneNumberType.MOBILE:
        kind = "mobile"
    elif ntype in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        kind = "landline"
    else:
        raise ValidationError(
            _("Phone number is not a valid mainland China mobile or landline number."), code="phone_invalid"
        )
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164=e164, kind=kind, extension=extension or (parsed.extension or ""))


def try_parse_phone(value: str) -> Phone | None:
    try:
        return parse_phone(value)
    except ValidationError:
        return None


def mask_phone(e164_or_national: str) -> str:
    """138****5678 for mobiles, 0571****4321 for landlines: keep the prefix and the last four."""
    digits = e164_or_national.removeprefix("+86")
    if not digits:
        return ""
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if not digits.startswith("0"):
        digits = "0" + digits
    head = 3 if digits[:3] in {"010", "020", "021", "022", "023", "024", "025", "027", "028", "029"} else 4
    return f"{digits[:head]}****{digits[-4:]}"


def mask_id_number(number: str) -> str:
    if len(number) <= 8:
        return "*" * len(number)
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


def luhn_check_digit(payload: str) -> str:
    """Check digit that catches any single wrong digit and most swaps in account numbers."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and len(number) > 1 and luhn_check_digit(number[:-1]) == number[-1]
