from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "kefu.workorders"
    label = "workorders"
    verbose_name = _("Work orders")
