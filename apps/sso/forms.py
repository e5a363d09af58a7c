from django import forms

from apps.sso.models import SsoProvider


class SsoStartForm(forms.Form):
    organisation = forms.CharField(max_length=254, label="Work e-mail or organisation sign-in name",
                                   help_text="For example ana@fabrikam.com, or fabrikam",
                                   widget=forms.TextInput(attrs={"autocomplete": "username"}))


class SsoProviderForm(forms.Form):
    """The organisation's identity provider. The client secret is write-only: never shown, kept when blank."""

    kind = forms.ChoiceField(choices=SsoProvider.Kind.choices, label="Provider")
    tenant = forms.CharField(max_length=100, required=False, label="Entra directory (tenant) id",
                             help_text="Microsoft Entra ID only")
    issuer = forms.CharField(max_length=500, required=False, label="Issuer address",
                             help_text="Other providers: the issuer, e.g. https://login.example.com/realms/acme")
    client_id = forms.CharField(max_length=200, label="Client (application) id")
    client_secret = forms.CharField(max_length=500, required=False, label="Client secret", strip=True,
                                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    email_domains = forms.CharField(max_length=1000, required=False, label="E-mail domains",
                                    help_text="Space- or comma-separated; people at these domains may sign in this way")
    auto_join = forms.BooleanField(required=False, label="People the provider vouches for join as members on first sign-in")
    enabled = forms.BooleanField(required=False, initial=True, label="Single sign-on is on")
