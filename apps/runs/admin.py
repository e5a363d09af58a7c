import csv

from django.contrib import admin, messages
from django.http import HttpResponse

from apps.core.admin import ReadOnlyAdminMixin
from apps.core.exceptions import ApplicationError
from apps.runs import services, verification
from apps.runs.models import IdMapEntry, Run, RunError, VerificationDifference


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    """Staff see runs of every organisation, and can pause, resume and cancel them. No ticket content is
    held here: the plan is schema names, the id map ids and hashes."""

    list_display = ("id", "organisation", "kind", "state", "phase", "source_project", "destination_project",
                    "started_by", "created_at", "finished_at")
    list_filter = ("kind", "state", "phase")
    search_fields = ("id", "source_project", "destination_project", "organisation__name")
    readonly_fields = [f.name for f in Run._meta.fields]
    actions = ["pause_runs", "resume_runs", "cancel_runs", "download_reports"]

    def get_queryset(self, request):
        return Run.unscoped.select_related("organisation", "started_by")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _control(self, request, queryset, service, verb):
        done, refused = 0, []
        for run in queryset:
            try:
                service(run=run, actor=request.user, actor_kind="staff")
                done += 1
            except ApplicationError as exc:
                refused.append(f"#{run.pk}: {exc.message}")
        if done:
            self.message_user(request, f"{verb} {done} run(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description="Pause the selected runs")
    def pause_runs(self, request, queryset):
        self._control(request, queryset, services.run_pause, "Pausing")

    @admin.action(description="Resume the selected runs")
    def resume_runs(self, request, queryset):
        self._control(request, queryset, services.run_resume, "Resumed")

    @admin.action(description="Cancel the selected runs")
    def cancel_runs(self, request, queryset):
        self._control(request, queryset, services.run_cancel, "Cancelling")

    @admin.action(description="Download the verification reports (CSV)")
    def download_reports(self, request, queryset):
        return _differences_csv(VerificationDifference.unscoped.filter(run__in=queryset), "migrayt-verification.csv")


def _differences_csv(queryset, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(("run_id", *verification.CSV_COLUMNS))
    for run_id, sid, key, check, kind, announced, explanation in queryset.order_by(
            "run_id", "announced", "source_id", "check_name").values_list(
            "run_id", "source_id", "destination_key", "check_name", "kind", "announced", "explanation"):
        writer.writerow([run_id, verification.csv_cell(sid), verification.csv_cell(key), check, kind,
                         "yes" if announced else "no", verification.csv_cell(explanation)])
    return response


@admin.register(VerificationDifference)
class VerificationDifferenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What the verification of each live run found: ids, checks and explanations, no ticket content."""

    list_display = ("run", "source_id", "destination_key", "check_name", "kind", "announced", "explanation")
    list_filter = ("check_name", "kind", "announced")
    search_fields = ("=run__id", "source_id", "destination_key")
    readonly_fields = [f.name for f in VerificationDifference._meta.fields]
    actions = ["download_csv"]

    def get_queryset(self, request):
        return VerificationDifference.unscoped.select_related("run")

    @admin.action(description="Download the selected differences (CSV)")
    def download_csv(self, request, queryset):
        return _differences_csv(queryset, "migrayt-differences.csv")


@admin.register(RunError)
class RunErrorAdmin(admin.ModelAdmin):
    list_display = ("run", "at", "phase", "source_id", "code", "message")
    list_filter = ("phase", "code")
    readonly_fields = [f.name for f in RunError._meta.fields]

    def get_queryset(self, request):
        return RunError.unscoped.select_related("run")

    def has_add_permission(self, request):
        return False


@admin.register(IdMapEntry)
class IdMapEntryAdmin(admin.ModelAdmin):
    list_display = ("run", "phase", "source_id", "destination_id", "destination_key", "adopted", "written_at")
    list_filter = ("phase", "adopted")
    search_fields = ("source_id", "destination_key")
    readonly_fields = [f.name for f in IdMapEntry._meta.fields]

    def get_queryset(self, request):
        return IdMapEntry.unscoped.select_related("run")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
