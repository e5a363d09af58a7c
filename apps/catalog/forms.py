from django import forms

from apps.catalog.models import Scan
from apps.catalog.quote import KIND_LABELS


class ScanForm(forms.Form):
    connection = forms.TypedChoiceField(coerce=int, label="Connection")
    project = forms.CharField(max_length=200, label="Project",
                              help_text="Its name (Azure DevOps) or key (Jira). The list below fills in once a "
                              "connection is chosen.")
    role = forms.ChoiceField(choices=Scan.Role.choices, initial=Scan.Role.SOURCE, label="Scan it as",
                             help_text="A source is read in full (counts of everything, for the price); a "
                             "destination only for its schema, which mappings target.")

    def __init__(self, *args, connections=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connection"].choices = [(c.pk, f"{c.name} ({c.get_kind_display()})") for c in connections]


class QuoteForm(forms.Form):
    destination_kind = forms.ChoiceField(choices=sorted(KIND_LABELS.items()), label="Destination")
