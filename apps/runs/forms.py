"""The run creation form: which approved mapping, preview or live, the scope (an area subtree or, from
Jira, components; types, states, a created-date range, a WIQL or JQL condition, a sample size) and what to
carry besides fields. The scope fields offered follow the chosen mapping's source (Azure DevOps or Jira)."""

from django import forms

from apps.connections.scope import MAX_SAMPLE

TOGGLES = ("comments", "attachments", "links", "history")
TOGGLE_CHOICES = [("", "As the mapping says"), ("on", "On"), ("off", "Off")]


class RunCreateForm(forms.Form):
    mapping_version = forms.ChoiceField(label="Approved mapping version")
    kind = forms.ChoiceField(choices=[("preview", "Preview: nothing is written"),
                                      ("live", "Live run: write into the destination")],
                             widget=forms.RadioSelect, initial="preview")
    area_path = forms.CharField(required=False, max_length=400, label="Area subtree",
                                help_text="An area and everything under it, e.g. Fabrikam Fiber\\Web.")
    components = forms.CharField(required=False, max_length=2000, label="Components",
                                 help_text="Jira components, comma-separated (names or ids; empty: every component).")
    types = forms.CharField(required=False, max_length=2000, label="Types",
                            help_text="Work item types, comma-separated (empty: every type).")
    states = forms.CharField(required=False, max_length=2000, label="States",
                             help_text="States, comma-separated (empty: every state).")
    created_from = forms.DateField(required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="Created until", widget=forms.DateInput(attrs={"type": "date"}))
    query = forms.CharField(required=False, max_length=4000, label="WIQL condition",
                            widget=forms.Textarea(attrs={"rows": 2}),
                            help_text="What follows WHERE, e.g. [System.Tags] CONTAINS 'release-1'.")
    sample = forms.IntegerField(required=False, min_value=1, max_value=MAX_SAMPLE, label="Sample size",
                                help_text="A sample run: only the first N items in scope.")
    adopt_run = forms.IntegerField(required=False, min_value=1, label="Adopt the sample run #",
                                   help_text="A full live run after a finished sample: what the sample wrote is "
                                             "kept, nothing is written twice.")
    comments = forms.ChoiceField(required=False, choices=TOGGLE_CHOICES, label="Comments")
    attachments = forms.ChoiceField(required=False, choices=TOGGLE_CHOICES, label="Attachments")
    links = forms.ChoiceField(required=False, choices=TOGGLE_CHOICES, label="Links")
    history = forms.ChoiceField(required=False, choices=TOGGLE_CHOICES, label="History")

    SCOPE_FIELDS = ("area_path", "components", "types", "states", "created_from", "created_to", "query", "sample")
    ONLY_ADO, ONLY_JIRA = ("area_path",), ("components",)
    SHARED_SCOPE_FIELDS = ("created_from", "created_to", "sample")

    def __init__(self, *args, versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mapping_version"].choices = [
            (str(v.pk), f"{v.mapping_set.name} v{v.number} ({v.approved_at:%Y-%m-%d %H:%M})") for v in versions]
        self.source_kinds = {str(v.pk): v.mapping_set.source_kind or "" for v in versions}
        chosen = str(self["mapping_version"].value() or next(iter(self.source_kinds), ""))
        self.source_is_jira = self.source_kinds.get(chosen, "").startswith("jira")
        # Mappings from both kinds of source: choosing another mapping swaps the scope fields (htmx).
        self.mixed_sources = len({kind.startswith("jira") for kind in self.source_kinds.values()}) > 1
        if self.source_is_jira:
            self.fields["query"].label = "JQL condition"
            self.fields["query"].help_text = 'ANDed with the project, e.g. labels = release-1 AND priority = High.'
            self.fields["types"].help_text = "Issue types, comma-separated (empty: every type)."
            self.fields["states"].help_text = "Statuses, comma-separated (empty: every status)."

    def scope_fields(self):
        """The scope fields that apply to the chosen mapping's source."""
        hidden = self.ONLY_ADO if self.source_is_jira else self.ONLY_JIRA
        return [self[name] for name in self.SCOPE_FIELDS if name not in hidden]

    def clean(self):
        data = super().clean()
        if data.get("created_from") and data.get("created_to") and data["created_from"] > data["created_to"]:
            self.add_error("created_to", "The date range ends before it starts.")
        if data.get("adopt_run") and data.get("kind") != "live":
            self.add_error("adopt_run", "Only a live run adopts a sample.")
        if data.get("adopt_run") and data.get("sample"):
            self.add_error("sample", "A run that adopts a sample is the full run: leave the sample size empty.")
        return data

    def scope(self) -> dict | None:
        data = self.cleaned_data
        scope = {name: data.get(name) for name in self.SCOPE_FIELDS if data.get(name) not in (None, "")}
        return scope or None

    def options(self) -> dict | None:
        data = self.cleaned_data
        chosen = {name: data[name] == "on" for name in TOGGLES if data.get(name)}
        return chosen or None
