from django import forms

from apps.webhooks.models import EVENTS


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(max_length=500, label="Address", help_text="Public HTTPS address that receives a POST per event",
                          widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/migrayt"}))
    description = forms.CharField(max_length=200, required=False, label="Description")
    events = forms.MultipleChoiceField(choices=[(k, f"{k}: {v}") for k, v in EVENTS.items()], label="Events",
                                       widget=forms.CheckboxSelectMultiple, initial=list(EVENTS))
