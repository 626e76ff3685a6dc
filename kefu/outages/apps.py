from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutagesConfig(AppConfig):
    name = "kefu.outages"
    label = "outages"
    verbose_name = _("Outages")

    def ready(self) -> None:
        # Work orders sit below outages: they call out through hooks that this app fills in, so a new
        # repair call is grouped or linked in the intake transaction (decision 0012).
        from kefu.outages import hooks

        hooks.register()
