from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CtiKind(models.TextChoices):
    """What the telephone system reports about a call. Each arrives at most once per call."""

    IVR = "ivr", _("IVR result")
    RINGING = "ringing", _("Ringing")
    ANSWERED = "answered", _("Answered")
    ENDED = "ended", _("Ended")


class EndReason(models.TextChoices):
    """Optional detail of an ``ended`` event from the telephone system."""

    NORMAL = "normal", _("Normal clearing")
    ABANDONED = "abandoned", _("Caller hung up before an agent answered")
    NO_ANSWER = "no_answer", _("Agent did not answer")
    SELF_SERVICE = "self_service", _("Served by the IVR")


class CallState(models.TextChoices):
    IN_IVR = "in_ivr", _("In the IVR")
    RINGING = "ringing", _("Ringing")
    TALKING = "talking", _("Talking")
    COMPLETED = "completed", _("Completed")
    SELF_SERVED = "self_served", _("Served by the IVR")
    MISSED = "missed", pgettext_lazy("call", "Missed")
    ABANDONED = "abandoned", _("Abandoned")


LIVE_STATES = frozenset({CallState.IN_IVR, CallState.RINGING, CallState.TALKING})
UNANSWERED_STATES = frozenset({CallState.MISSED, CallState.ABANDONED})


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class CallResult(models.TextChoices):
    """What the agent records at the end of a call."""

    ANSWERED = "answered", _("Question answered")
    ORDER_CREATED = "order_created", _("Work order created")
    ORDER_LINKED = "order_linked", _("Linked to an existing order")
    URGED = "urged", _("Order urged")
    TRANSFERRED = "transferred", pgettext_lazy("call", "Transferred")
    WRONG_NUMBER = "wrong_number", _("Wrong number or nuisance call")
    DROPPED = "dropped", _("Line dropped")
    OTHER = "other", _("Other")


class CallbackStatus(models.TextChoices):
    NONE = "", _("No callback needed")
    PENDING = "pending", _("Waiting for a callback")
    CLAIMED = "claimed", _("Being called back")
    DONE = "done", pgettext_lazy("call", "Called back")
    FAILED = "failed", _("Could not be reached")


class CallbackOutcome(models.TextChoices):
    REACHED = "reached", _("Reached the caller")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class OrderRelation(models.TextChoices):
    CREATED = "created", _("Created during the call")
    LINKED = "linked", _("Linked (repeat call)")
    URGED = "urged", _("Urged during the call")


class ActivityKind(models.TextChoices):
    IDENTIFIED = "identified", _("Customer identified")
    ANSWERED = "answered", _("Answered at the desk")
    ORDER = "order", _("Order linked")
    RESULT = "result", _("Result recorded")
    CALLBACK_CLAIMED = "cb_claimed", _("Callback taken")
    CALLBACK = "callback", _("Callback attempt")
    CALLBACK_RELEASED = "cb_released", _("Callback released")


# A caller not reached after this many attempts leaves the queue as "could not be reached".
CALLBACK_MAX_ATTEMPTS = 3
