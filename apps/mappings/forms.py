from django import forms

from apps.mappings.drafting.proposals import AUTO_ACCEPT, Kind
from apps.mappings.sanitise import CONSENTABLE
from apps.mappings.validation import MISSING_LEVEL_CHOICES


class MappingSetForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="For example: Fabrikam ADO → Jira PROJ")
    source_scan_id = forms.TypedChoiceField(label="Source project (a finished scan)", coerce=int)
    destination_scan_id = forms.TypedChoiceField(label="Destination project (a finished scan)", coerce=int)

    def __init__(self, *args, scans=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "Choose a scan…")] + [
            (s.pk, f"{s.project_name or s.project_key} · {s.connection_name or s.connection_kind} · "
                   f"{s.get_role_display().lower()} scan of {s.finished_at or s.created_at:%Y-%m-%d %H:%M}")
            for s in scans
        ]
        self.fields["source_scan_id"].choices = choices
        self.fields["destination_scan_id"].choices = choices


class OptionsForm(forms.Form):
    default_person = forms.ChoiceField(required=False, label="Default person",
                                       help_text="Receives what people with no account did; their name is kept as text.")
    areas_as_labels = forms.BooleanField(required=False, label="Areas become labels (not components)")
    comments = forms.BooleanField(required=False, label="Comments")
    attachments = forms.BooleanField(required=False, label="Attachments")
    links = forms.BooleanField(required=False, label="Links")
    history = forms.BooleanField(required=False, label="History")

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_person"].choices = [("", "Nobody (every person must be mapped)")] + list(people)


class AcceptAboveForm(forms.Form):
    confidence = forms.FloatField(min_value=0.5, max_value=1.0, initial=AUTO_ACCEPT, label="Accept all at or above",
                                  widget=forms.NumberInput(attrs={"step": "0.01"}))
    kind = forms.ChoiceField(required=False, choices=[("", "every kind")] + [(k.value, k.value.replace("_", " "))
                                                                              for k in Kind])


class RowEditForm(forms.Form):
    target = forms.ChoiceField(required=False, label="Target")
    transform = forms.ChoiceField(required=False, label="Transform")
    missing_level = forms.ChoiceField(required=False, label="A level the destination lacks",
                                      choices=[("", "—")] + [(c, c) for c in MISSING_LEVEL_CHOICES])
    transition_path = forms.CharField(required=False, label="Transition path (statuses, comma-separated)",
                                      max_length=1000)
    departed = forms.ChoiceField(required=False, label="With no account, their work goes to",
                                 choices=[("", "(the default person if set, else name kept as text)"),
                                          ("default_person", "The default person, name kept as text"),
                                          ("attribution", "Nobody: name kept as attribution text"),
                                          ("inactive_account", "An inactive account of their own")])

    def __init__(self, *args, targets=(), transforms=(), inactive_allowed=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "— nothing receives it —")] + list(targets)
        if not inactive_allowed:  # Jira takes only active accounts as assignee or reporter
            self.fields["departed"].choices = [c for c in self.fields["departed"].choices if c[0] != "inactive_account"]
        self.fields["transform"].choices = [("", "(the fitting one)")] + list(transforms)


class ConsentForm(forms.Form):
    categories = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Also let through",
        choices=[(c.value, {"email": "E-mail addresses", "url": "Links", "phone": "Phone numbers"}.get(c.value, c.value))
                 for c in CONSENTABLE],
        help_text="Off by default: the sanitiser removes them from names and allowed values. Secrets never go.")


class ImportForm(forms.Form):
    file = forms.FileField(label="Mapping file (JSON, exported from Migrayt)")
