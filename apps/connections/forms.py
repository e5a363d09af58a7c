from django import forms

from apps.connections.models import Connection


class ConnectionForm(forms.Form):
    """Make or change a connection. The token field never shows a value: not the stored token, not even
    the one just typed when the form comes back with an error."""

    kind = forms.ChoiceField(choices=Connection.Kind.choices, label="Kind")
    name = forms.CharField(max_length=120, label="Name", help_text="For example: Fabrikam ADO, or Jira (target)")
    base_url = forms.CharField(
        max_length=500,
        label="Address",
        help_text="https://dev.azure.com/<organisation>, https://<site>.atlassian.net, or your Jira Data "
        "Center address",
        widget=forms.URLInput(attrs={"placeholder": "https://dev.azure.com/fabrikam", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        required=False, label="Atlassian account e-mail", help_text="Jira Cloud only: the account the API "
        "token belongs to."
    )
    token = forms.CharField(
        max_length=2000,
        label="Token",
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Azure DevOps or Jira Data Center: a personal access token. Jira Cloud: an API token. "
        "Stored encrypted; never shown again.",
    )

    def __init__(self, *args, connection: Connection | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if connection is not None and connection.is_oauth:
            # Signed in with the vendor: no token, and the kind and site come from the sign-in.
            for name in ("token", "email", "kind"):
                del self.fields[name]
            if connection.kind == Connection.Kind.JIRA_CLOUD:
                del self.fields["base_url"]
            return
        if connection is not None:
            self.fields["token"].required = False
            self.fields["token"].label = "New token"
            self.fields["token"].help_text = (
                f"Leave blank to keep the stored {connection.secret_label} (set "
                f"{connection.secret_updated_at:%Y-%m-%d %H:%M} UTC). It is never shown."
            )


class OAuthStartForm(forms.Form):
    """Name the connection before signing in with the provider; Azure DevOps also needs the organisation's
    address (one Microsoft sign-in reaches every organisation the person belongs to)."""

    name = forms.CharField(max_length=120, label="Name", help_text="For example: Jira (target)")
    base_url = forms.CharField(
        max_length=500, required=False, label="Azure DevOps organisation address",
        help_text="https://dev.azure.com/<organisation>",
        widget=forms.URLInput(attrs={"placeholder": "https://dev.azure.com/fabrikam", "autocomplete": "off"}),
    )

    def __init__(self, *args, provider: str, **kwargs):
        super().__init__(*args, **kwargs)
        if provider != "entra":
            del self.fields["base_url"]
        else:
            self.fields["base_url"].required = True
