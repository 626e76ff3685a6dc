from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo and scale data. Sits on top of every app, so it may compose all of them."""

    name = "kefu.demo"
    label = "demo"
    verbose_name = _("Demo data")
