"""Shift handover: the outgoing leader hands over the shift's open orders, the incoming one confirms."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kefu.core.errors import Conflict, InvalidInput, PermissionDeniedError
from kefu.org.tests.factories import make_staff
from kefu.workorders.choices import HandoverStatus, Status
from kefu.workorders.handover import handover_confirm, handover_create
from kefu.workorders.models import HandoverItem, ShiftHandover
from kefu.workorders.services import workorder_dispatch
from kefu.workorders.tests.factories import reseed, run_together, shared_database

if TYPE_CHECKING:
    from conftest import Station, World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


def shift(hours: int = 8) -> tuple[Any, Any]:
    end = timezone.now()
    return end - timedelta(hours=hours), end


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hand_over(leader: Any, **kw: Any) -> ShiftHandover:
    start, end = shift()
    return handover_create(actor=leader, shift_start=kw.pop("shift_start", start), shift_end=kw.pop("shift_end", end),
                           summary=kw.pop("summary", "夜班平稳"), notes=kw.pop("notes", {}), **kw)


@pytest.fixture
def incoming(world: World) -> Any:
    """The next shift's leader at county A1."""
    return make_staff("leader_a1_night", unit=world.county_a1, roles=["shift_leader"])


# --- services -----------------------------------------------------------------------------------


def test_a_handover_lists_the_shifts_open_orders_with_notes(world: World, station: Station) -> None:
    workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=station.unit)
    handover = hand_over(station.leader, notes={world.order_a1.pk: "等供电所回复"})
    items = {i.order_id: i for i in HandoverItem.objects.filter(handover=handover)}
    assert set(items) == {world.order_a1.pk}  # A2 and B1 belong to other leaders
    assert items[world.order_a1.pk].status_at_handover == Status.DISPATCHED
    assert items[world.order_a1.pk].note == "等供电所回复"
    assert handover.unit == world.county_a1 and handover.status == HandoverStatus.PENDING


def test_only_shift_leaders_hand_over(world: World) -> None:
    with pytest.raises(PermissionDeniedError):
        hand_over(world.agent_a1)


@pytest.mark.parametrize(("start", "end", "field"), [
    (0, -1, "shift_end"),  # ends before it starts
    (-2, 3, "shift_end"),  # ends three hours from now
    (-30, 0, "shift_start"),  # thirty hours long
])
def test_the_shift_window_must_make_sense(station: Station, start: int, end: int, field: str) -> None:
    now = timezone.now()
    with pytest.raises(InvalidInput) as caught:
        hand_over(station.leader, shift_start=now + timedelta(hours=start), shift_end=now + timedelta(hours=end))
    assert field in caught.value.errors
    assert not ShiftHandover.objects.exists()


def test_a_shift_ending_a_minute_ahead_is_fine(station: Station) -> None:
    now = timezone.now()
    assert hand_over(station.leader, shift_start=now - timedelta(hours=8), shift_end=now + timedelta(minutes=1)).pk


def test_a_note_on_an_order_outside_the_area_is_refused(world: World, station: Station) -> None:
    with pytest.raises(InvalidInput) as caught:
        hand_over(station.leader, notes={world.order_b1.pk: "不是我的"})
    assert f"notes.{world.order_b1.pk}" in caught.value.errors
    with pytest.raises(InvalidInput):
        hand_over(station.leader, notes={world.order_a1.pk: "太长" * 200})


def test_the_same_shift_is_handed_over_once(station: Station) -> None:
    start, end = shift()
    hand_over(station.leader, shift_start=start, shift_end=end)
    with pytest.raises(Conflict):
        hand_over(station.leader, shift_start=start, shift_end=end)


def test_the_incoming_leader_confirms(world: World, station: Station, incoming: Any) -> None:
    handover = hand_over(station.leader)
    done = handover_confirm(actor=incoming, handover=handover, note="已接班")
    assert done.status == HandoverStatus.CONFIRMED and done.confirmed_by == incoming
    assert done.confirm_note == "已接班" and done.confirmed_at is not None


def test_the_writer_cannot_confirm_their_own_handover(station: Station) -> None:
    handover = hand_over(station.leader)
    with pytest.raises(PermissionDeniedError):
        handover_confirm(actor=station.leader, handover=handover)
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.PENDING


def test_a_second_confirmation_is_told_who_was_first(world: World, station: Station, incoming: Any) -> None:
    handover = hand_over(station.leader)
    handover_confirm(actor=incoming, handover=handover)
    with pytest.raises(Conflict) as caught:
        handover_confirm(actor=world.supervisor, handover=handover)  # a stale page: still shows "pending"
    assert incoming.display_name() in str(caught.value.message)
    handover.refresh_from_db()
    assert handover.confirmed_by == incoming


def test_a_leader_elsewhere_cannot_confirm(world: World, station: Station) -> None:
    handover = hand_over(station.leader)
    stranger = make_staff("leader_b1", unit=world.county_b1, roles=["shift_leader"])
    with pytest.raises(PermissionDeniedError):
        handover_confirm(actor=stranger, handover=handover)


@pytest.fixture
def seeded(transactional_db: None) -> None:
    reseed()  # an earlier transaction=True test may have flushed the seed data away


@pytest.mark.django_db(transaction=True)
def test_two_leaders_confirming_at_once_one_wins(seeded: None, world: World, station: Station,
                                                 incoming: Any) -> None:
    handover = hand_over(station.leader)
    with shared_database():
        outcome = run_together(lambda: handover_confirm(actor=incoming, handover=handover),
                               lambda: handover_confirm(actor=world.supervisor, handover=handover))
        assert len(outcome.results) == 1, outcome.errors
        assert len(outcome.errors) == 1 and isinstance(outcome.errors[0], Conflict)
        handover = ShiftHandover.objects.get(pk=handover.pk)
        assert handover.confirmed_by_id == outcome.results[0].confirmed_by_id


# --- pages --------------------------------------------------------------------------------------


def test_hand_over_and_take_over_through_the_pages(world: World, station: Station, incoming: Any) -> None:
    workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=station.unit)
    leader = login(station.leader)
    form = leader.get(reverse("workorders:handover-create")).content.decode()
    assert world.order_a1.number in form and f'name="note_{world.order_a1.pk}"' in form
    start, end = shift()
    local = "%Y-%m-%dT%H:%M"
    # Changing the window lists the orders again and keeps the notes typed so far.
    form = leader.get(reverse("workorders:handover-create"), {
        "shift_start": timezone.localtime(start - timedelta(hours=1)).strftime(local),
        "shift_end": timezone.localtime(end).strftime(local), f"note_{world.order_a1.pk}": "草稿"}).content.decode()
    assert world.order_a1.number in form and 'value="草稿"' in form
    response = leader.post(reverse("workorders:handover-create"), {
        "shift_start": timezone.localtime(start).strftime(local), "shift_end": timezone.localtime(end).strftime(local),
        "summary": "夜里停电多", f"note_{world.order_a1.pk}": "督促供电所到场",
    })
    handover = ShiftHandover.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("workorders:handover-detail", args=[handover.pk])
    mine = leader.get(response["Location"]).content.decode()
    assert "督促供电所到场" in mine and "Awaiting confirmation" in mine and "Waiting for the incoming" in mine
    assert "Confirm the handover" not in mine
    listing = login(incoming).get(reverse("workorders:handover-list"), {"status": "pending"}).content.decode()
    assert reverse("workorders:handover-detail", args=[handover.pk]) in listing
    page = login(incoming).get(response["Location"]).content.decode()
    assert "Confirm the handover" in page and world.order_a1.number in page and "Dispatched" in page
    response = login(incoming).post(reverse("workorders:handover-confirm", args=[handover.pk]), {"note": "收到"},
                                    follow=True)
    html = response.content.decode()
    assert "Handover confirmed" in html and 'id="handover-status">Confirmed<' in html and "收到" in html


def test_handover_pages_refuse_bad_windows_and_outsiders(world: World, station: Station) -> None:
    leader = login(station.leader)
    response = leader.post(reverse("workorders:handover-create"), {
        "shift_start": "2026-01-02T08:00", "shift_end": "2026-01-01T08:00", "summary": ""})
    assert response.status_code == 400 and "must end after it starts" in response.content.decode()
    assert not ShiftHandover.objects.exists()
    assert login(world.agent_a1).get(reverse("workorders:handover-create")).status_code == 403
    handover = hand_over(station.leader)
    assert login(world.agent_a2).get(reverse("workorders:handover-detail", args=[handover.pk])).status_code == 404
    # An agent may read the handover of their county but not confirm it.
    response = login(world.agent_a1).post(reverse("workorders:handover-confirm", args=[handover.pk]), {"note": ""})
    assert response.status_code == 403
