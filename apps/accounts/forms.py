from django import forms
from django.contrib.auth import password_validation

from apps.accounts.models import Membership


class SignUpForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(label="Work e-mail")
    organisation_name = forms.CharField(max_length=120, label="Organisation")
    password = forms.CharField(widget=forms.PasswordInput, label="Password")

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            from apps.accounts.models import User

            password_validation.validate_password(password, User(email=cleaned.get("email") or ""))
        return cleaned


class OrganisationForm(forms.Form):
    name = forms.CharField(max_length=120, label="Organisation name")


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, label="Token name", help_text="For example: CI pipeline")
    expires_at = forms.DateTimeField(
        required=False, label="Expires", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class MembershipAddForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)
