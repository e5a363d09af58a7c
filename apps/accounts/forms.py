from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from apps.accounts.models import Membership


class SignUpForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(label="Work e-mail")
    organisation_name = forms.CharField(
        max_length=120, label="Organisation", help_text="Your company or team. You can invite others later."
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        label="Password",
        help_text="At least 10 characters, not a common password, not all digits.",
    )

    def clean_email(self):
        from apps.accounts.models import User

        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists. Log in instead.")
        return email

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            from apps.accounts.models import User

            user = User(email=cleaned.get("email") or "", full_name=cleaned.get("full_name") or "")
            try:
                password_validation.validate_password(password, user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class OrganisationForm(forms.Form):
    name = forms.CharField(max_length=120, label="Organisation name")


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, label="Token name", help_text="For example: CI pipeline")
    expires_at = forms.DateTimeField(
        required=False, label="Expires", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class MembershipAddForm(forms.Form):
    email = forms.EmailField(label="E-mail", help_text="The address they signed up with.")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class LoginForm(AuthenticationForm):
    """Django's log-in form, which refuses an account after too many failed attempts in a short while."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "too_many_attempts": "Too many failed log-ins for this account. Wait 15 minutes, or reset your password.",
    }

    def clean(self):
        from apps.accounts import services

        email = self.cleaned_data.get("username") or ""
        if email and services.login_attempts_exhausted(email=email):
            raise forms.ValidationError(self.error_messages["too_many_attempts"], code="too_many_attempts")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if email:
                ip_address = self.request.META.get("REMOTE_ADDR") if self.request else None
                services.login_failure_record(email=email, ip_address=ip_address)
            raise
        services.login_failures_clear(email=email)
        return cleaned
