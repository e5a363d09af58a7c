from django import forms

from apps.sandbox.models import SandboxSite


class SiteControlsForm(forms.ModelForm):
    fault_kinds = forms.MultipleChoiceField(
        choices=[(k, k) for k in SandboxSite.FAULT_KINDS], required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = SandboxSite
        fields = [
            "rate_window_seconds", "rate_limit_site", "rate_limit_token", "delay_after_percent", "delay_ms",
            "latency_ms", "latency_jitter_ms", "fault_rate", "fault_kinds", "slow_ms", "seed", "log_requests",
        ]

    def clean_fault_rate(self):
        rate = self.cleaned_data["fault_rate"]
        if not 0 <= rate <= 1:
            raise forms.ValidationError("A rate between 0 and 1.")
        return rate

    def clean_delay_after_percent(self):
        value = self.cleaned_data["delay_after_percent"]
        if value > 100:
            raise forms.ValidationError("At most 100.")
        return value
