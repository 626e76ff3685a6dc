"""Forms for signing in and changing the password. The rules live in kefu.org.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.core.errors import ApplicationError, InvalidInput
from kefu.core.web import BootstrapFormMixin, client_ip
from kefu.org.models import Staff
from kefu.org.services import login_authenticate, staff_change_password


class LoginForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150,
                               widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}))
    password = forms.CharField(label=_("Password"), max_length=128, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user: Staff | None = None
        super().__init__(*args, **kwargs)
        if self.is_bound and self.data.get("username"):
            # After a failed try the name is usually right: put the cursor on the password.
            del self.fields["username"].widget.attrs["autofocus"]
            self.fields["password"].widget.attrs["autofocus"] = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        username, password = data.get("username"), data.get("password")
        if not username or not password:
            return data
        try:
            user = login_authenticate(request=self.request, username=username, password=password,
                                      ip=client_ip(self.request))
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from exc
        self.user = user
        return data


class PasswordChangeForm(BootstrapFormMixin, forms.Form):
    old_password = forms.CharField(
        label=_("Current password"), max_length=128, strip=False,
        widget=forms.PasswordInput(attrs={"autofocus": True, "autocomplete": "current-password"}),
    )
    new_password = forms.CharField(label=_("New password"), max_length=128, strip=False,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    new_password2 = forms.CharField(label=_("New password again"), max_length=128, strip=False,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, user: Staff, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password2") and data["new_password"] != data["new_password2"]:
            self.add_error("new_password2", gettext("The two new passwords differ."))
        return data

    def save(self) -> bool:
        """Change the password through the service; its errors land on the right field."""
        try:
            staff_change_password(staff=self.user, old_password=self.cleaned_data["old_password"],
                                  new_password=self.cleaned_data["new_password"])
        except InvalidInput as exc:
            for field, messages in exc.errors.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
            return False
        return True
