from django.urls import path

from kefu.workorders.views import handover, intake, order, policy, queues

app_name = "workorders"

urlpatterns = [
    # Queues.
    path("", queues.index, name="index"),
    path("mine/", queues.mine, name="queue-mine"),
    path("unit/", queues.unit, name="queue-unit"),
    path("to-dispatch/", queues.to_dispatch, name="queue-dispatch"),
    path("warnings/", queues.warnings, name="queue-warnings"),
    path("supervised/", queues.supervised, name="queue-supervised"),
    path("all/", queues.all_orders, name="queue-all"),
    # Intake.
    path("new/", intake.create, name="create"),
    path("new/duplicates/", intake.duplicates, name="duplicates"),
    # One order.
    path("<int:pk>/", order.detail, name="detail"),
    path("<int:pk>/reveal/", order.reveal, name="reveal"),
    path("<int:pk>/repeat-call/", intake.link_repeat, name="link-repeat"),
    path("<int:pk>/act/<slug:action>/", order.act, name="act"),
    # Shift handover.
    path("handovers/", handover.handover_list, name="handover-list"),
    path("handovers/new/", handover.handover_new, name="handover-create"),
    path("handovers/<int:pk>/", handover.handover_detail, name="handover-detail"),
    path("handovers/<int:pk>/confirm/", handover.handover_accept, name="handover-confirm"),
    # Policy data (administrators).
    path("policy/types/", policy.type_list, name="type-list"),
    path("policy/types/new/", policy.type_create, name="type-create"),
    path("policy/types/<int:pk>/", policy.type_edit, name="type-edit"),
    path("policy/limits/", policy.sla_list, name="sla-list"),
    path("policy/limits/new/", policy.sla_create, name="sla-create"),
    path("policy/limits/<int:pk>/", policy.sla_edit, name="sla-edit"),
    path("policy/calendar/", policy.calendar, name="calendar"),
    path("policy/calendar/<str:day>/", policy.calendar_day, name="calendar-day"),
    path("policy/calendar/<str:day>/delete/", policy.calendar_delete, name="calendar-delete"),
    path("policy/levels/", policy.level_list, name="level-list"),
    path("policy/levels/<int:pk>/", policy.level_edit, name="level-edit"),
    path("policy/levels/<int:pk>/delete/", policy.level_delete, name="level-delete"),
]
