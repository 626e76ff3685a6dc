"""Notice rules (how far ahead customers must hear of an outage) and SMS templates.

Rules are rows (``NoticeRule``), checked when an outage is published and when its times change;
a breach names the rule, the lead it asks for and the lead there is. Templates are rows too, with
``{field}`` placeholders checked against the fields an outage can fill."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kefu.core.errors import ApplicationError, InvalidInput

from .choices import Audience, MessageKind, OutageClass, RuleKind
from .models import MessageTemplate, NoticeRule, Outage

TEMPLATE_FIELDS = frozenset({"number", "area", "reason", "start", "end", "restored_at", "change_reason",
                             "hotline", "class"})
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    MessageKind.PUBLISHED: ("area", "start", "end"),
    MessageKind.REMINDER: ("area", "start"),
    MessageKind.CHANGED: ("area", "start", "end"),
    MessageKind.CANCELLED: ("area", "start"),
    MessageKind.RESTORED: ("area", "restored_at"),
}
MAX_SMS = 500


class NoticeRuleBreach(ApplicationError):
    """Publishing now would break a notice rule; a supervisor may override it with a reason."""

    code = "notice_rule"
    status_code = 400


@dataclass(frozen=True)
class Breach:
    rule_id: int
    message: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule_id, "message": self.message, "source": self.source}


def span(minutes: int) -> str:
    """7 days / 24 hours / 30 minutes / 6 days 23 hours, in the reader's language."""
    minutes = max(0, int(minutes))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if mins or not parts:
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", mins) % {"n": mins})
    return " ".join(parts)


def _lead_left(start: datetime, now: datetime) -> int:
    return int((start - now).total_seconds() // 60)


def notice_breaches(outage: Outage, *, now: datetime) -> list[Breach]:
    """The notice rules that publishing ``outage`` at ``now`` would break."""
    breaches: list[Breach] = []
    rules = NoticeRule.objects.filter(kind=RuleKind.NOTICE, outage_class=outage.outage_class, is_active=True)
    for rule in rules:
        if rule.audience == Audience.IMPORTANT and not outage.important_count:
            continue
        if now <= outage.planned_start - timedelta(minutes=rule.lead_minutes):
            continue
        who = _("important customers") if rule.audience == Audience.IMPORTANT else _("customers")
        breaches.append(Breach(rule.pk, _(
            "A %(class)s must be announced to %(who)s at least %(lead)s before it starts; it starts in %(left)s."
        ) % {"class": OutageClass(outage.outage_class).label, "who": who, "lead": span(rule.lead_minutes),
             "left": span(_lead_left(outage.planned_start, now))}, rule.source))
    return breaches


def change_breaches(outage: Outage, *, start: datetime, end: datetime, now: datetime) -> list[Breach]:
    """An earlier start or a later restoration than announced must be reported ahead (rule ``change``)."""
    rule = NoticeRule.objects.filter(kind=RuleKind.CHANGE, is_active=True).order_by("id").first()
    if rule is None:
        return []
    lead = timedelta(minutes=rule.lead_minutes)
    breaches: list[Breach] = []
    announced_start = outage.announced_start or outage.planned_start
    announced_end = outage.announced_end or outage.planned_end
    if start < announced_start and now > start - lead:
        breaches.append(Breach(rule.pk, _(
            "An earlier start must be reported at least %(lead)s before the new start; it is %(left)s away."
        ) % {"lead": span(rule.lead_minutes), "left": span(_lead_left(start, now))}, rule.source))
    if end > announced_end and now > announced_end - lead:
        breaches.append(Breach(rule.pk, _(
            "A later restoration must be reported at least %(lead)s before the announced restoration at "
            "%(end)s."
        ) % {"lead": span(rule.lead_minutes), "end": local_text(announced_end)}, rule.source))
    return breaches


def reminder_minutes(outage: Outage) -> int:
    """Minutes before the start at which important customers get a reminder (0 = none)."""
    rule = (NoticeRule.objects.filter(kind=RuleKind.NOTICE, outage_class=outage.outage_class, is_active=True,
                                      reminder_minutes__gt=0).order_by("id").first())
    return rule.reminder_minutes if rule else 0


def refuse(breaches: list[Breach]) -> None:
    raise NoticeRuleBreach(
        _("%(rules)s A supervisor may publish anyway with a reason.") % {
            "rules": " ".join(b.message for b in breaches)},
        field="planned_start", extra={"rules": [b.as_dict() for b in breaches]},
    )


# Templates -------------------------------------------------------------------------------------

def template_errors(kind: str, text: str) -> list[str]:
    """What is wrong with a template text, in a clerk's words (empty when it is fine)."""
    if not text.strip():
        return [_("The text is empty.")]
    if len(text) > MAX_SMS:
        return [_("The text is too long (at most %(n)d characters).") % {"n": MAX_SMS}]
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return [_("A brace { or } is not closed. Write fields as {area}, {start}, {end}.")]
    used: set[str] = set()
    errors: list[str] = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            errors.append(_("Unknown field {%(name)s}. Fields: %(fields)s.") % {
                "name": name, "fields": ", ".join("{" + f + "}" for f in sorted(TEMPLATE_FIELDS))})
        elif spec or conversion:
            errors.append(_("Write the field {%(name)s} without a format.") % {"name": name})
        used.add(name)
    for name in REQUIRED_FIELDS.get(kind, ()):
        if name not in used:
            errors.append(_("The message must contain the field {%(name)s}.") % {"name": name})
    return errors


def local_text(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{timezone.localtime(value):%m月%d日 %H:%M}"


def render(kind: str, outage: Outage, **extra: Any) -> str:
    """The Chinese SMS for ``outage``; refuses a stored template that lost a required field."""
    template = MessageTemplate.objects.filter(kind=kind).first()
    if template is None:
        raise InvalidInput({"template": [_("There is no SMS template for “%(kind)s”.") % {
            "kind": MessageKind(kind).label}]})
    errors = template_errors(kind, template.text)
    if errors:
        raise InvalidInput({"template": [_("The SMS template “%(kind)s” cannot be used: %(errors)s") % {
            "kind": MessageKind(kind).label, "errors": " ".join(errors)}]})
    values = {
        "number": outage.number, "area": outage.area, "reason": outage.reason,
        "start": local_text(outage.planned_start), "end": local_text(outage.planned_end),
        "restored_at": local_text(outage.actual_end), "change_reason": "",
        "hotline": getattr(settings, "KEFU_HOTLINE", "95598"),
        "class": str(OutageClass(outage.outage_class).label),
    }
    values.update({k: str(v) for k, v in extra.items()})
    return template.text.format(**values)
