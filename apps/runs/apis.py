from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import request_actor_kind as _actor_kind
from apps.accounts.permissions import request_organisation
from apps.runs import selectors, services, verification
from apps.runs.models import IdMapEntry, Run


def _run_or_404(request, run_id: int) -> Run:
    try:
        return selectors.run_get(organisation=request_organisation(request), run_id=run_id)
    except Run.DoesNotExist:
        raise NotFound("No such run in this organisation.") from None


class RunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.CharField()
    phase = serializers.CharField()
    mapping_version_id = serializers.IntegerField(allow_null=True)
    source_project = serializers.CharField()
    destination_project = serializers.CharField()
    source_connection_id = serializers.IntegerField(allow_null=True)
    destination_connection_id = serializers.IntegerField(allow_null=True)
    started_by = serializers.EmailField(source="started_by.email", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    error_code = serializers.CharField()
    error_message = serializers.CharField()
    phases = serializers.SerializerMethodField()
    estimated_finish = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    estimate = serializers.SerializerMethodField()
    requests = serializers.SerializerMethodField()
    verify = serializers.SerializerMethodField()

    def get_phases(self, run) -> list[dict]:
        return selectors.run_phases(run)

    def get_estimated_finish(self, run) -> str | None:
        finish = selectors.run_estimated_finish(run=run)
        return finish.isoformat() if finish else None

    def get_warnings(self, run) -> list[dict]:
        return [{"code": w["code"], "label": w["label"], "count": w["count"],
                 "messages": [{"message": m, "count": n} for m, n in w["messages"]],
                 "example_source_ids": w["examples"]} for w in selectors.run_warnings(run)]

    def get_estimate(self, run) -> dict | None:
        return selectors.run_estimate(run=run) if run.is_preview and run.state == Run.State.FINISHED else None

    def get_requests(self, run) -> int:
        return int((run.stats or {}).get("requests", 0))

    def get_verify(self, run) -> dict | None:
        return (run.stats or {}).get("verify")


class RunListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        mapping_version = serializers.IntegerField(min_value=1, help_text="An approved (frozen) mapping version.")
        kind = serializers.ChoiceField(choices=Run.Kind.choices, default=Run.Kind.PREVIEW,
                                       help_text="preview: the whole pipeline without writing; live: the migration.")
        scope = serializers.DictField(required=False, help_text="Which items: area_path (a subtree), types, states, "
                                      "created_from, created_to, query (a WIQL condition), sample (first N items). "
                                      "Counted against the source first; see POST /connections/{id}/scope-count/.")
        options = serializers.DictField(child=serializers.BooleanField(), required=False,
                                        help_text="comments, attachments, links, history: true or false.")
        adopt_run_id = serializers.IntegerField(required=False, min_value=1,
                                                help_text="A live run only: the finished live (sample) run whose "
                                                          "work this run adopts, writing only what it did not.")

    @extend_schema(responses=RunOutputSerializer(many=True), summary="Runs and previews of this organisation")
    def get(self, request):
        runs = selectors.run_list(organisation=request_organisation(request),
                                  kind=request.query_params.get("kind") or None,
                                  state=request.query_params.get("state") or None)[:200]
        return Response(RunOutputSerializer(runs, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: RunOutputSerializer},
                   summary="Start a preview or a live run from an approved mapping version")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.run_create_from_version(organisation=request_organisation(request), actor=request.user,
                                               kind=data.validated_data["kind"],
                                               mapping_version_id=data.validated_data["mapping_version"],
                                               actor_kind=_actor_kind(request),
                                               scope=data.validated_data.get("scope"),
                                               options=data.validated_data.get("options"),
                                               adopt_run_id=data.validated_data.get("adopt_run_id"))
        return Response(RunOutputSerializer(run).data, status=status.HTTP_201_CREATED)


class RunDetailApi(APIView):
    @extend_schema(responses=RunOutputSerializer, summary="A run: state, progress per phase, warnings, estimate")
    def get(self, request, run_id: int):
        return Response(RunOutputSerializer(_run_or_404(request, run_id)).data)


class RunControlApi(APIView):
    """pause, resume, cancel, retry (the failed items) and rollback (with the typed confirmation)."""

    action = ""

    class InputSerializer(serializers.Serializer):
        confirmation = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                             help_text="rollback only: type “ROLL BACK <run id>”.")

    @extend_schema(request=InputSerializer, responses=RunOutputSerializer, summary="Control a run")
    def post(self, request, run_id: int):
        run = _run_or_404(request, run_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs = {"run": run, "actor": request.user, "actor_kind": _actor_kind(request)}
        if self.action == "pause":
            services.run_pause(**kwargs)
        elif self.action == "resume":
            services.run_resume(**kwargs)
        elif self.action == "cancel":
            services.run_cancel(**kwargs)
        elif self.action == "retry":
            services.run_retry_failed(**kwargs)
        elif self.action == "rollback":
            services.run_rollback(**kwargs, confirmation=data.validated_data.get("confirmation", ""))
        run.refresh_from_db()
        return Response(RunOutputSerializer(run).data)


class RunErrorsApi(APIView):
    class OutputSerializer(serializers.Serializer):
        at = serializers.DateTimeField()
        phase = serializers.CharField()
        source_id = serializers.CharField()
        code = serializers.CharField()
        message = serializers.CharField()

    @extend_schema(responses=OutputSerializer(many=True), summary="Why items or links were not written")
    def get(self, request, run_id: int):
        run = _run_or_404(request, run_id)
        return Response(self.OutputSerializer(selectors.run_errors(run=run), many=True).data)


class RunAuditApi(APIView):
    class OutputSerializer(serializers.Serializer):
        created_at = serializers.DateTimeField()
        action = serializers.CharField()
        actor = serializers.EmailField(source="actor.email", allow_null=True, default=None)
        actor_kind = serializers.CharField()
        data = serializers.DictField()

    @extend_schema(responses=OutputSerializer(many=True), summary="What ran, when and by whom (no ticket content)")
    def get(self, request, run_id: int):
        run = _run_or_404(request, run_id)
        return Response(self.OutputSerializer(selectors.run_audit(run=run), many=True).data)


class RunIdMapApi(APIView):
    class OutputSerializer(serializers.Serializer):
        phase = serializers.CharField()
        source_id = serializers.CharField()
        destination_id = serializers.CharField()
        destination_key = serializers.CharField()
        payload_sha256 = serializers.CharField()
        adopted = serializers.BooleanField()
        rolled_back = serializers.BooleanField()
        written_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True), summary="Source id -> destination id and key, per phase")
    def get(self, request, run_id: int):
        run = _run_or_404(request, run_id)
        qs = IdMapEntry.unscoped.filter(run_id=run.pk).order_by("id")
        phase = request.query_params.get("phase")
        if phase:
            qs = qs.filter(phase=phase)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class RunItemPreviewApi(APIView):
    @extend_schema(responses=dict, summary="One item: the source and what is written, side by side (computed now)")
    def get(self, request, run_id: int, source_id: str):
        run = _run_or_404(request, run_id)
        return Response(services.run_item_preview(run=run, source_id=source_id))


class ReportSummarySerializer(serializers.Serializer):
    items_checked = serializers.IntegerField()
    matched = serializers.IntegerField()
    differing = serializers.IntegerField()
    missing = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    differences = serializers.IntegerField()
    unexplained = serializers.IntegerField()
    announced = serializers.IntegerField()
    by_check = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()),
                                     help_text="check -> {unexplained, announced}")


class ReportDifferenceSerializer(serializers.Serializer):
    source_id = serializers.CharField()
    destination_key = serializers.CharField()
    check = serializers.CharField(source="check_name")
    kind = serializers.ChoiceField(choices=["missing", "extra", "differs"])
    announced = serializers.BooleanField(help_text="the preview said so (listed after the unexplained ones)")
    explanation = serializers.CharField(help_text="counts, lengths, hashes, ids, status and type names only")


class RunReportApi(APIView):
    """The verification report of a live run: the summary and the differences, unexplained ones first."""

    class OutputSerializer(serializers.Serializer):
        run_id = serializers.IntegerField()
        ready = serializers.BooleanField(help_text="false until the verification finished (a preview has none)")
        summary = ReportSummarySerializer(allow_null=True)
        count = serializers.IntegerField()
        next = serializers.CharField(allow_null=True)
        previous = serializers.CharField(allow_null=True)
        differences = ReportDifferenceSerializer(many=True)

    @extend_schema(
        summary="The verification report: summary and differences (no ticket content)",
        parameters=[OpenApiParameter("check", str, description="Only this check (status, links, comment_count ...)"),
                    OpenApiParameter("kind", str, enum=["missing", "extra", "differs"]),
                    OpenApiParameter("announced", bool, description="true: only those the preview announced; "
                                     "false: only the unexplained ones"),
                    OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses=OutputSerializer)
    def get(self, request, run_id: int):
        run = _run_or_404(request, run_id)
        announced = request.query_params.get("announced")
        if announced not in (None, "", "true", "false"):
            raise serializers.ValidationError({"announced": "true or false."})
        kind = request.query_params.get("kind") or ""
        if kind and kind not in ("missing", "extra", "differs"):
            raise serializers.ValidationError({"kind": "missing, extra or differs."})
        qs = verification.report_differences(run=run, check=request.query_params.get("check") or "", kind=kind,
                                             announced=None if announced in (None, "") else announced == "true")
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        summary = verification.report_summary(run=run)
        return Response({"run_id": run.pk, "ready": summary is not None,
                         "summary": ReportSummarySerializer(summary).data if summary else None,
                         "count": paginator.count, "next": paginator.get_next_link(),
                         "previous": paginator.get_previous_link(),
                         "differences": ReportDifferenceSerializer(page, many=True).data})


class RunReportCsvApi(APIView):
    @extend_schema(summary="Every difference of the verification report, as CSV", operation_id="runs_report_csv",
                   responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, run_id: int):
        run = _run_or_404(request, run_id)
        response = StreamingHttpResponse(verification.report_csv_rows(run=run), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{verification.report_filename(run)}"'
        return response



class RoundTripDifferenceSerializer(serializers.Serializer):
    source_id = serializers.CharField(help_text="the original Azure DevOps item")
    round_trip_id = serializers.CharField(help_text="its round-tripped work item; empty when lost")
    check = serializers.CharField()
    kind = serializers.ChoiceField(choices=["lost", "missing", "extra", "differs"])
    was = serializers.CharField(help_text="ids, names of types and states, field ids, counts, hashes")
    now = serializers.CharField()
    reason = serializers.CharField()
    expected = serializers.BooleanField(help_text="a known limit of the round trip, as the reason says")


def _round_trip(request, run_id: int):
    from apps.runs import roundtrip

    run = _run_or_404(request, run_id)
    try:
        run_a = roundtrip.round_trip_runs(organisation=request_organisation(request), run_b=run,
                                          from_id=request.query_params.get("from"))
    except Run.DoesNotExist:
        raise NotFound("No such run in this organisation.") from None
    return run_a, run, roundtrip.round_trip_report(run_a=run_a, run_b=run)


FROM_RUN = OpenApiParameter("from", int, required=True,
                            description="the Azure DevOps -> Jira run whose destination this run read")


class RunRoundTripApi(APIView):
    """The round trip: this run (Jira -> Azure DevOps) brought back what run `from` (Azure DevOps -> Jira) took
    there; every original item compared with its round trip, read from the three projects now (never stored)."""

    class OutputSerializer(serializers.Serializer):
        run_id = serializers.IntegerField()
        from_run_id = serializers.IntegerField()
        summary = serializers.DictField(help_text="items, lost, unexpected, expected, items_kept_whole, by_check")
        differences = RoundTripDifferenceSerializer(many=True, help_text="unexpected ones first")

    @extend_schema(summary="The round-trip report: what a project migrated to Jira and back lost, and why "
                           "(no ticket content)", parameters=[FROM_RUN], responses=OutputSerializer)
    def get(self, request, run_id: int):
        run_a, run, report = _round_trip(request, run_id)
        differences = sorted(report["differences"], key=lambda d: d.expected)
        return Response({"run_id": run.pk, "from_run_id": run_a.pk, "summary": report["summary"],
                         "differences": RoundTripDifferenceSerializer(differences, many=True).data})


class RunRoundTripCsvApi(APIView):
    @extend_schema(summary="The round-trip report as CSV", operation_id="runs_round_trip_csv", parameters=[FROM_RUN],
                   responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, run_id: int):
        from apps.runs import roundtrip

        run_a, run, report = _round_trip(request, run_id)
        response = StreamingHttpResponse(roundtrip.round_trip_csv_rows(differences=report["differences"]),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="migrayt-round-trip-{run_a.pk}-{run.pk}.csv"'
        return response
