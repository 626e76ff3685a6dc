from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from .views import calls, screen

app_name = "desk"

urlpatterns: list[URLPattern | URLResolver] = [
    # The desk screen and what it does during a call (views/screen.py).
    path("", screen.desk_screen, name="screen"),
    path("poll/", screen.desk_poll, name="poll"),
    path("extension/", screen.extension_sign_in, name="sign-in"),
    path("extension/out/", screen.extension_sign_out, name="sign-out"),
    path("suggest/", screen.suggest, name="suggest"),
    path("types/", screen.order_types, name="types"),
    path("find/", screen.find_customer, name="find-customer"),
    path("calls/<int:pk>/answer/", screen.answer, name="answer"),
    path("calls/<int:pk>/identify/", screen.identify, name="identify"),
    path("calls/<int:pk>/order/", screen.create_order, name="create-order"),
    path("calls/<int:pk>/link/", screen.link_order, name="link-order"),
    path("calls/<int:pk>/urge/", screen.urge_order, name="urge-order"),
    path("calls/<int:pk>/result/", screen.record_result, name="result"),
    # The call log, the callback queue and extensions (views/calls.py).
    path("calls/", calls.call_list, name="calls"),
    path("calls/<int:pk>/", calls.call_detail, name="call-detail"),
    path("callbacks/", calls.callback_list, name="callbacks"),
    path("callbacks/<int:pk>/claim/", calls.callback_claim, name="callback-claim"),
    path("callbacks/<int:pk>/record/", calls.callback_record, name="callback-record"),
    path("callbacks/<int:pk>/release/", calls.callback_release, name="callback-release"),
    path("extensions/", calls.extension_list, name="extensions"),
]
