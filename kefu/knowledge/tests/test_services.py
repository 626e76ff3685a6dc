"""The article workflow through the services: draft → review → published revisions agents can find,
edits that stay invisible until approved, rejection, retirement, refusals, roles and scope."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.http import Http404

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError, PermissionDeniedError
from kefu.knowledge import services as svc
from kefu.knowledge.choices import ArticleAction, ArticleStatus
from kefu.knowledge.models import Article, ArticleEvent, ArticleRevision
from kefu.knowledge.selectors import knowledge_search, published_get
from kefu.knowledge.tests.factories import Editors, article_data, event_actions, fresh, make_article, make_editors
from kefu.org.models import Staff

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def editors(world: World) -> Editors:
    return make_editors(world)


def found(user: Staff, query: str) -> list[str]:
    return [item.revision.article.number for item in knowledge_search(user=user, query=query).items]


def test_create_submit_approve_publishes_revision_1_and_makes_it_searchable(world: World, editors: Editors) -> None:
    article = svc.article_create(actor=editors.leader_a1, data=article_data())
    assert article.status == ArticleStatus.DRAFT and article.unit == world.county_a1
    assert article.number.startswith("KB") and not article.number.startswith("KBS")
    assert article.tags == ",防汛,配电房,"
    assert found(world.agent_a1, "防汛") == []  # a draft is not for agents
    with pytest.raises(Http404):
        published_get(user=world.agent_a1, article_id=article.pk)

    svc.article_submit(actor=editors.leader_a1, article_id=article.pk, seen_version=article.version)
    assert fresh(article).status == ArticleStatus.REVIEW
    assert found(world.agent_a1, "防汛") == []

    svc.article_approve(actor=editors.director, article_id=article.pk)
    article = fresh(article)
    assert article.status == ArticleStatus.PUBLISHED
    assert article.published is not None and article.published.revision == 1
    assert article.published.approved_by == editors.director and article.published.author == editors.leader_a1
    assert found(world.agent_a1, "防汛") == [article.number]
    assert found(world.agent_a1, "配电房巡视")[0] == article.number
    assert published_get(user=world.agent_a1, article_id=article.pk).title == "防汛期间配电房巡视要求"
    assert event_actions(article) == [ArticleAction.CREATE, ArticleAction.SUBMIT, ArticleAction.APPROVE]


def test_agents_see_the_old_text_until_the_edit_is_approved(world: World, editors: Editors) -> None:
    article = make_article(editors.leader_a1, approver=editors.director)
    edited = svc.article_update(
        actor=editors.leader_a1, article_id=article.pk, seen_version=article.version,
        data=article_data(title="汛期配电房巡视与排水要求", body="暴雨后两小时内完成配电房排水检查。", tags="排水"),
    )
    assert edited.status == ArticleStatus.DRAFT and edited.title == "汛期配电房巡视与排水要求"

    shown = published_get(user=world.agent_a1, article_id=article.pk)
    assert shown.revision == 1 and shown.title == "防汛期间配电房巡视要求"
    assert found(world.agent_a1, "防汛") == [article.number]  # the old words still find it
    assert found(world.agent_a1, "排水") == []  # the draft's words do not
    [hit] = knowledge_search(user=world.agent_a1, query="防汛").items
    assert hit.revision.revision == 1 and hit.title_html == "<mark>防汛</mark>期间配电房巡视要求"

    svc.article_submit(actor=editors.leader_a1, article_id=article.pk)
    assert published_get(user=world.agent_a1, article_id=article.pk).revision == 1  # in review: still the old one
    svc.article_approve(actor=editors.director, article_id=article.pk)

    shown = published_get(user=world.agent_a1, article_id=article.pk)
    assert shown.revision == 2 and shown.title == "汛期配电房巡视与排水要求"
    assert found(world.agent_a1, "排水") == [article.number]
    assert found(world.agent_a1, "防汛") == []  # revision 1's words are gone from the index
    assert list(ArticleRevision.objects.filter(article=article).order_by("revision")
                .values_list("revision", "title")) == [(1, "防汛期间配电房巡视要求"), (2, "汛期配电房巡视与排水要求")]
    assert event_actions(article)[-3:] == [ArticleAction.EDIT, ArticleAction.SUBMIT, ArticleAction.APPROVE]


def test_reject_needs_a_reason_and_sends_the_article_back_to_draft(world: World, editors: Editors) -> None:
    article = make_article(editors.leader_a1)
    svc.article_submit(actor=editors.leader_a1, article_id=article.pk)
    for reason in ("", "   "):
        with pytest.raises(InvalidInput) as refused:
            svc.article_reject(actor=editors.director, article_id=article.pk, reason=reason)
        assert "reason" in refused.value.errors
    assert fresh(article).status == ArticleStatus.REVIEW

    svc.article_reject(actor=editors.director, article_id=article.pk, reason="缺少整改时限")
    assert fresh(article).status == ArticleStatus.DRAFT
    last = ArticleEvent.objects.filter(article=article).order_by("-id").first()
    assert last is not None and last.action == ArticleAction.REJECT and last.text == "缺少整改时限"
    assert last.from_status == ArticleStatus.REVIEW and last.to_status == ArticleStatus.DRAFT
    assert found(world.agent_a1, "防汛") == []


def test_retire_takes_the_article_out_of_search_at_once(world: World, editors: Editors) -> None:
    article = make_article(editors.leader_a1, approver=editors.director)
    assert found(world.agent_a1, "防汛") == [article.number]
    svc.article_retire(actor=editors.director, article_id=article.pk, reason="已被新规定替代")
    assert fresh(article).status == ArticleStatus.RETIRED
    assert found(world.agent_a1, "防汛") == []
    with pytest.raises(Http404):
        published_get(user=world.agent_a1, article_id=article.pk)
    assert ArticleRevision.objects.filter(article=article).count() == 1  # history kept


def test_a_seeded_article_can_be_retired_by_a_company_level_editor(world: World, editors: Editors) -> None:
    seeded = Article.objects.get(number="KBS034")
    assert "KBS034" in found(world.agent_a1, "家里停电了怎么办")
    with pytest.raises(NotFoundError):  # company-wide articles belong to the top of the tree
        svc.article_retire(actor=editors.director, article_id=seeded.pk)
    svc.article_retire(actor=editors.head, article_id=seeded.pk)
    assert "KBS034" not in found(world.agent_a1, "家里停电了怎么办")


def test_illegal_moves_are_refused(world: World, editors: Editors) -> None:
    article = make_article(editors.leader_a1)
    with pytest.raises(IllegalTransition):
        svc.article_approve(actor=editors.director, article_id=article.pk)  # a draft is not in review
    with pytest.raises(IllegalTransition):
        svc.article_reject(actor=editors.director, article_id=article.pk, reason="不通过")
    svc.article_submit(actor=editors.leader_a1, article_id=article.pk)
    with pytest.raises(IllegalTransition):
        svc.article_submit(actor=editors.leader_a1, article_id=article.pk)
    with pytest.raises(IllegalTransition):
        svc.article_update(actor=editors.leader_a1, article_id=article.pk, data=article_data(), seen_version=None)
    svc.article_approve(actor=editors.director, article_id=article.pk)
    with pytest.raises(IllegalTransition):
        svc.article_approve(actor=editors.director, article_id=article.pk)
    svc.article_retire(actor=editors.director, article_id=article.pk)
    with pytest.raises(IllegalTransition):
        svc.article_retire(actor=editors.director, article_id=article.pk)
    assert fresh(article).status == ArticleStatus.RETIRED
    assert event_actions(article) == [ArticleAction.CREATE, ArticleAction.SUBMIT, ArticleAction.APPROVE,
                                      ArticleAction.RETIRE]  # refusals write nothing


def test_a_stale_version_is_a_conflict(editors: Editors) -> None:
    article = make_article(editors.leader_a1)
    opened = article.version
    svc.article_update(actor=editors.leader_a1, article_id=article.pk, seen_version=opened,
                       data=article_data(title="第一次修改"))
    with pytest.raises(Conflict):
        svc.article_update(actor=editors.director, article_id=article.pk, seen_version=opened,
                           data=article_data(title="基于旧版本的修改"))
    with pytest.raises(Conflict):
        svc.article_submit(actor=editors.leader_a1, article_id=article.pk, seen_version=opened)
    assert fresh(article).title == "第一次修改" and fresh(article).status == ArticleStatus.DRAFT


@pytest.mark.parametrize("missing", ["title", "body"])
def test_content_without_title_or_body_is_refused_naming_the_field(editors: Editors, missing: str) -> None:
    before = Article.objects.count()
    with pytest.raises(InvalidInput) as refused:
        svc.article_create(actor=editors.leader_a1, data=article_data(**{missing: "  "}))
    assert list(refused.value.errors) == [missing]
    assert Article.objects.count() == before


def test_bad_fields_are_all_named(editors: Editors) -> None:
    with pytest.raises(InvalidInput) as refused:
        svc.article_create(actor=editors.leader_a1, data=article_data(
            title="", body="", category="no-such-category", utility="water", valid_from="2026-05-01",
            valid_to="2026-04-01", summary="长" * 501))
    assert set(refused.value.errors) == {"title", "body", "category", "utility", "valid_to", "summary"}
    article = make_article(editors.leader_a1)
    with pytest.raises(InvalidInput) as refused:
        svc.article_update(actor=editors.leader_a1, article_id=article.pk, seen_version=article.version,
                           data=article_data(valid_from="2026-13-45"))
    assert list(refused.value.errors) == ["valid_from"]


def test_roles_decide_who_writes_and_who_approves(world: World, editors: Editors) -> None:
    with pytest.raises(PermissionDeniedError):
        svc.article_create(actor=world.agent_a1, data=article_data())
    with pytest.raises(PermissionDeniedError):
        svc.article_create(actor=world.crew_a1, data=article_data())
    article = make_article(editors.leader_a1)  # a shift leader writes
    with pytest.raises(PermissionDeniedError):
        svc.article_submit(actor=world.agent_a1, article_id=article.pk)
    svc.article_submit(actor=editors.leader_a1, article_id=article.pk)
    with pytest.raises(PermissionDeniedError):
        svc.article_approve(actor=editors.leader_a1, article_id=article.pk)  # but may not approve
    with pytest.raises(PermissionDeniedError):
        svc.article_reject(actor=editors.leader_a1, article_id=article.pk, reason="自己退回")
    assert fresh(article).status == ArticleStatus.REVIEW
    svc.article_approve(actor=editors.director, article_id=article.pk)  # a director approves
    assert fresh(article).status == ArticleStatus.PUBLISHED
    with pytest.raises(PermissionDeniedError):
        svc.article_retire(actor=editors.leader_a1, article_id=article.pk)
    assert Article.objects.filter(unit__isnull=False).count() == 1


def test_editors_only_touch_their_own_units_articles(world: World, editors: Editors) -> None:
    b_article = make_article(editors.leader_b1, title="B1燃气防汛巡查", utility="gas")
    assert b_article.unit == world.county_b1
    with pytest.raises(NotFoundError):
        svc.article_update(actor=editors.leader_a1, article_id=b_article.pk, data=article_data(),
                           seen_version=b_article.version)
    with pytest.raises(NotFoundError):
        svc.article_submit(actor=editors.leader_a1, article_id=b_article.pk)
    with pytest.raises(NotFoundError):  # a director of city A has no say over city B either
        svc.article_submit(actor=editors.director, article_id=b_article.pk)
    assert fresh(b_article).title == "B1燃气防汛巡查" and fresh(b_article).status == ArticleStatus.DRAFT

    with pytest.raises(InvalidInput) as refused:  # nor write one in B's name
        svc.article_create(actor=editors.leader_a1, data=article_data(), unit=world.county_b1)
    assert "unit" in refused.value.errors

    a_article = make_article(editors.leader_a1, unit=world.county_a1)
    svc.article_update(actor=editors.director, article_id=a_article.pk, seen_version=a_article.version,
                       data=article_data(title="城市A主任修改"))  # the city's director covers its counties
    assert fresh(a_article).title == "城市A主任修改"
    assert event_actions(b_article) == [ArticleAction.CREATE]


def test_every_step_writes_exactly_one_event(world: World, editors: Editors) -> None:
    article = make_article(editors.leader_a1)
    steps = [
        lambda: svc.article_update(actor=editors.leader_a1, article_id=article.pk, data=article_data(title="改一"),
                                   seen_version=None),
        lambda: svc.article_submit(actor=editors.leader_a1, article_id=article.pk),
        lambda: svc.article_reject(actor=editors.director, article_id=article.pk, reason="再补充"),
        lambda: svc.article_submit(actor=editors.leader_a1, article_id=article.pk),
        lambda: svc.article_approve(actor=editors.director, article_id=article.pk),
        lambda: svc.article_retire(actor=editors.director, article_id=article.pk, reason="过期"),
    ]
    for step in steps:
        before = ArticleEvent.objects.filter(article=article).count()
        version = fresh(article).version
        step()
        assert ArticleEvent.objects.filter(article=article).count() == before + 1
        assert fresh(article).version == version + 1
    events = list(ArticleEvent.objects.filter(article=article).order_by("at", "id"))
    assert [e.action for e in events] == ["create", "edit", "submit", "reject", "submit", "approve", "retire"]
    assert [e.actor for e in events[-3:]] == [editors.leader_a1, editors.director, editors.director]
    assert all(e.to_status for e in events)
