from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShellConfig(AppConfig):
    """The page shell: sign-in, sign-out, password change, home by role, menu context.

    It sits on top of the domain apps (like desk and portal) because home composes them.
    """

    name = "kefu.shell"
    label = "shell"
    verbose_name = _("Page shell")
