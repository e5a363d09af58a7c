from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import request_actor_kind as _actor_kind
from apps.accounts.permissions import request_organisation
from apps.core.exceptions import ApplicationError
from apps.mappings import selectors, services
from apps.mappings.document import DocumentInvalid, document_loads
from apps.mappings.drafting.proposals import Kind
from apps.mappings.models import MappingRow, MappingSet, MappingVersion
from apps.mappings.sanitise import CONSENTABLE


def _set_or_404(request, mapping_set_id: int) -> MappingSet:
    try:
        return selectors.mapping_set_get(organisation=request_organisation(request), mapping_set_id=mapping_set_id)
    except MappingSet.DoesNotExist:
        raise NotFound("No such mapping in this organisation.") from None


def _row_or_404(mapping_set: MappingSet, row_id: int) -> MappingRow:
    try:
        return selectors.mapping_row_get(mapping_set=mapping_set, row_id=row_id)
    except MappingRow.DoesNotExist:
        raise NotFound("No such row in this mapping.") from None


class MappingSetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    source_scan_id = serializers.IntegerField(allow_null=True)
    destination_scan_id = serializers.IntegerField(allow_null=True)
    source_kind = serializers.CharField()
    destination_kind = serializers.CharField()
    source_project = serializers.CharField()
    destination_project = serializers.CharField()
    default_person = serializers.CharField()
    areas_as_labels = serializers.BooleanField()
    comments = serializers.BooleanField()
    attachments = serializers.BooleanField()
    links = serializers.BooleanField()
    history = serializers.BooleanField()
    draft_status = serializers.CharField()
    draft_message = serializers.CharField()
    drafted_at = serializers.DateTimeField(allow_null=True)
    llm_consent = serializers.SerializerMethodField()
    latest_version = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_llm_consent(self, obj) -> dict | None:
        if not obj.has_llm_consent:
            return None
        return {"given_at": obj.llm_consent_at, "given_by": getattr(obj.llm_consent_by, "email", None),
                "categories": obj.llm_consent_categories}

    def get_latest_version(self, obj) -> int | None:
        latest = selectors.mapping_version_latest(mapping_set=obj)
        return latest.number if latest else None


class MappingRowOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    scope = serializers.CharField()
    source = serializers.CharField()
    source_label = serializers.CharField()
    target = serializers.CharField(allow_null=True)
    target_label = serializers.CharField()
    transform = serializers.CharField()
    confidence = serializers.FloatField()
    reason = serializers.CharField()
    layer = serializers.CharField(help_text="standard, semantic, llm, fallback, person or import")
    warnings = serializers.ListField(child=serializers.CharField())
    options = serializers.DictField()
    proposed_target = serializers.CharField(allow_null=True)
    proposed_layer = serializers.CharField()
    decision = serializers.CharField()
    decided_by = serializers.EmailField(source="decided_by.email", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)


class IssueSerializer(serializers.Serializer):
    level = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()
    kind = serializers.CharField()
    scope = serializers.CharField()
    source = serializers.CharField()


class MappingVersionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    mapping_set_id = serializers.IntegerField()
    number = serializers.IntegerField()
    content_sha256 = serializers.CharField()
    approved_by = serializers.EmailField(source="approved_by.email", allow_null=True, default=None)
    approved_at = serializers.DateTimeField()
    warnings = serializers.ListField(child=serializers.DictField())


class MappingSetListCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        source_scan_id = serializers.IntegerField()
        destination_scan_id = serializers.IntegerField()
        draft = serializers.BooleanField(default=True, help_text="Start drafting at once (default).")

    @extend_schema(responses=MappingSetOutputSerializer(many=True), summary="Mappings of this organisation")
    def get(self, request):
        sets = selectors.mapping_set_list(organisation=request_organisation(request))
        return Response(MappingSetOutputSerializer(sets, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: MappingSetOutputSerializer},
                   summary="Make a mapping from a finished source scan to a finished destination scan")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping_set = services.mapping_set_create(organisation=request_organisation(request), actor=request.user,
                                                  actor_kind=_actor_kind(request), **serializer.validated_data)
        return Response(MappingSetOutputSerializer(mapping_set).data, status=status.HTTP_201_CREATED)


class MappingSetDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        default_person = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                               help_text="Destination account id for people with no account.")
        areas_as_labels = serializers.BooleanField(required=False)
        comments = serializers.BooleanField(required=False)
        attachments = serializers.BooleanField(required=False)
        links = serializers.BooleanField(required=False)
        history = serializers.BooleanField(required=False)

    @extend_schema(responses=MappingSetOutputSerializer, summary="One mapping")
    def get(self, request, mapping_set_id: int):
        return Response(MappingSetOutputSerializer(_set_or_404(request, mapping_set_id)).data)

    @extend_schema(request=InputSerializer, responses=MappingSetOutputSerializer, summary="Change a mapping's options")
    def patch(self, request, mapping_set_id: int):
        mapping_set = _set_or_404(request, mapping_set_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping_set = services.mapping_set_update(mapping_set=mapping_set, actor=request.user,
                                                  actor_kind=_actor_kind(request), **serializer.validated_data)
        return Response(MappingSetOutputSerializer(mapping_set).data)

    @extend_schema(request=None, responses={204: None}, summary="Delete a mapping that has no approved version")
    def delete(self, request, mapping_set_id: int):
        services.mapping_set_delete(mapping_set=_set_or_404(request, mapping_set_id), actor=request.user,
                                    actor_kind=_actor_kind(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MappingSetDraftApi(APIView):
    class InputSerializer(serializers.Serializer):
        use_llm = serializers.BooleanField(default=False, help_text="Ask the outside model about the uncertain, "
                                           "undecided rows (needs an admin's consent for this mapping).")
        payload_sha256 = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                               help_text="With use_llm: the sha256 from GET .../llm-payload/, "
                                               "proving the payload was looked at.")

    @extend_schema(request=InputSerializer, responses={202: MappingSetOutputSerializer},
                   summary="Draft the mapping (offline layers), or refine it with the outside model")
    def post(self, request, mapping_set_id: int):
        mapping_set = _set_or_404(request, mapping_set_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping_set = services.mapping_set_draft_request(mapping_set=mapping_set, actor=request.user,
                                                         actor_kind=_actor_kind(request), **serializer.validated_data)
        return Response(MappingSetOutputSerializer(mapping_set).data, status=status.HTTP_202_ACCEPTED)


class MappingSetLlmPayloadApi(APIView):
    class OutputSerializer(serializers.Serializer):
        configured = serializers.BooleanField()
        model = serializers.CharField(allow_blank=True)
        consent = serializers.BooleanField()
        payload = serializers.DictField(help_text="Exactly what would be sent (the user message, as JSON).")
        payload_sha256 = serializers.CharField()
        removed = serializers.DictField(child=serializers.IntegerField(),
                                        help_text="What the sanitiser removed, by category (never the values).")

    @extend_schema(responses=OutputSerializer, summary="See exactly what would be sent to the outside model")
    def get(self, request, mapping_set_id: int):
        mapping_set = _set_or_404(request, mapping_set_id)
        questions = services.mapping_set_llm_preview(mapping_set=mapping_set)
        config = services.llm_config()
        return Response(self.OutputSerializer({
            "configured": config is not None, "model": config.model if config else "",
            "consent": mapping_set.has_llm_consent, "payload": questions.payload,
            "payload_sha256": questions.sanitised.sha256, "removed": questions.sanitised.removal_counts(),
        }).data)


class MappingSetConsentApi(APIView):
    class InputSerializer(serializers.Serializer):
        categories = serializers.ListField(child=serializers.ChoiceField(choices=[c.value for c in CONSENTABLE]),
                                           required=False, default=list,
                                           help_text="Categories the sanitiser may let through; secrets never go.")

    @extend_schema(request=InputSerializer, responses=MappingSetOutputSerializer,
                   summary="Agree (owner or admin) that schema of this mapping may be sent to the outside model")
    def post(self, request, mapping_set_id: int):
        mapping_set = _set_or_404(request, mapping_set_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping_set = services.mapping_set_consent_give(mapping_set=mapping_set, actor=request.user,
                                                        actor_kind=_actor_kind(request), **serializer.validated_data)
        return Response(MappingSetOutputSerializer(mapping_set).data)

    @extend_schema(request=None, responses=MappingSetOutputSerializer, summary="Withdraw the consent")
    def delete(self, request, mapping_set_id: int):
        mapping_set = services.mapping_set_consent_withdraw(mapping_set=_set_or_404(request, mapping_set_id),
                                                            actor=request.user, actor_kind=_actor_kind(request))
        return Response(MappingSetOutputSerializer(mapping_set).data)


class MappingRowListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, enum=[k.value for k in Kind]),
            OpenApiParameter("show", str, enum=list(selectors.ATTENTION_FILTERS),
                             description="attention: what needs a look; pending; low; no_target; warnings; llm"),
        ],
        responses=MappingRowOutputSerializer(many=True), summary="Rows of a mapping (every proposal)")
    def get(self, request, mapping_set_id: int):
        mapping_set = _set_or_404(request, mapping_set_id)
        kind = request.query_params.get("kind") or None
        show = request.query_params.get("show") or "all"
        if kind and kind not in {k.value for k in Kind}:
            raise ApplicationError(f"Unknown kind {kind!r}.", extra={"allowed": [k.value for k in Kind]})
        if show not in selectors.ATTENTION_FILTERS:
            raise ApplicationError(f"Unknown filter {show!r}.", extra={"allowed": list(selectors.ATTENTION_FILTERS)})
        issues = selectors.mapping_set_issues(mapping_set) if show == "attention" else None
        rows = selectors.mapping_row_list(mapping_set=mapping_set, kind=kind, show=show, issues=issues)
        return Response(MappingRowOutputSerializer(rows.select_related("decided_by"), many=True).data)


class MappingRowDecideApi(APIView):
    class InputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=["accept", "reject", "edit"])
        target = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=255)
        transform = serializers.CharField(required=False, allow_blank=True, max_length=30)
        options = serializers.DictField(required=False)

    @extend_schema(request=InputSerializer, responses=MappingRowOutputSerializer,
                   summary="Accept, reject or edit one row")
    def patch(self, request, mapping_set_id: int, row_id: int):
        mapping_set = _set_or_404(request, mapping_set_id)
        row = _row_or_404(mapping_set, row_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        kwargs = {"target": data["target"]} if "target" in data else {}
        row = services.mapping_row_decide(row=row, actor=request.user, actor_kind=_actor_kind(request),
                                          decision=data["decision"], transform=data.get("transform") or None,
                                          options=data.get("options"), **kwargs)
        return Response(MappingRowOutputSerializer(row).data)


class MappingRowsAcceptApi(APIView):
    class InputSerializer(serializers.Serializer):
        confidence = serializers.FloatField(min_value=0.5, max_value=1.0)
        kind = serializers.ChoiceField(choices=[k.value for k in Kind], required=False)

    class OutputSerializer(serializers.Serializer):
        accepted = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer,
                   summary="Accept every undecided row at or above a confidence")
    def post(self, request, mapping_set_id: int):
        mapping_set = _set_or_404(request, mapping_set_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = services.mapping_rows_accept_above(mapping_set=mapping_set, actor=request.user,
                                                   actor_kind=_actor_kind(request), **serializer.validated_data)
        return Response({"accepted": count})


class MappingSetValidationApi(APIView):
    class OutputSerializer(serializers.Serializer):
        can_approve = serializers.BooleanField()
        errors = IssueSerializer(many=True)
        warnings = IssueSerializer(many=True)

    @extend_schema(responses=OutputSerializer, summary="What blocks approval, and what will be lossy")
    def get(self, request, mapping_set_id: int):
        issues = selectors.mapping_set_issues(_set_or_404(request, mapping_set_id))
        errors = [i.as_dict() for i in issues if i.level == "error"]
        warnings = [i.as_dict() for i in issues if i.level != "error"]
        return Response({"can_approve": not errors, "errors": errors, "warnings": warnings})


class MappingSetApproveApi(APIView):
    @extend_schema(request=None, responses={201: MappingVersionOutputSerializer},
                   summary="Approve: freeze the mapping into a new version (400 lists what blocks it)")
    def post(self, request, mapping_set_id: int):
        version = services.mapping_set_approve(mapping_set=_set_or_404(request, mapping_set_id), actor=request.user,
                                               actor_kind=_actor_kind(request))
        return Response(MappingVersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)


class MappingVersionListApi(APIView):
    @extend_schema(responses=MappingVersionOutputSerializer(many=True), summary="Approved versions of a mapping")
    def get(self, request, mapping_set_id: int):
        versions = selectors.mapping_version_list(mapping_set=_set_or_404(request, mapping_set_id))
        return Response(MappingVersionOutputSerializer(versions, many=True).data)


class MappingVersionDetailApi(APIView):
    class OutputSerializer(MappingVersionOutputSerializer):
        content = serializers.DictField(help_text="The frozen mapping document (the export format).")

    @extend_schema(responses=OutputSerializer, summary="One approved version, with its frozen content")
    def get(self, request, version_id: int):
        try:
            version = selectors.mapping_version_get(organisation=request_organisation(request), version_id=version_id)
        except MappingVersion.DoesNotExist:
            raise NotFound("No such mapping version in this organisation.") from None
        return Response(self.OutputSerializer(version).data)


class MappingSetExportApi(APIView):
    @extend_schema(responses={200: dict}, summary="Export the mapping as a JSON document, to reuse it")
    def get(self, request, mapping_set_id: int):
        mapping_set = _set_or_404(request, mapping_set_id)
        document = services.mapping_set_export(mapping_set=mapping_set, actor=request.user,
                                               actor_kind=_actor_kind(request))
        response = Response(document)
        response["Content-Disposition"] = f'attachment; filename="mapping-{mapping_set.pk}.json"'
        return response


class MappingSetImportApi(APIView):
    parser_classes = [JSONParser, MultiPartParser]

    class OutputSerializer(serializers.Serializer):
        applied = serializers.IntegerField()
        skipped = serializers.ListField(child=serializers.DictField())
        skipped_count = serializers.IntegerField()
        not_in_document = serializers.IntegerField()

    @extend_schema(request={"application/json": dict}, responses=OutputSerializer,
                   summary="Import a mapping document (JSON body, or a multipart 'file'); 400 says what is wrong")
    def post(self, request, mapping_set_id: int):
        mapping_set = _set_or_404(request, mapping_set_id)
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is not None:
            try:
                document = document_loads(upload.read())
            except DocumentInvalid as exc:
                raise ApplicationError(str(exc), extra={"field": "file"}) from None
        else:
            document = request.data
        report = services.mapping_set_import(mapping_set=mapping_set, actor=request.user, document=document,
                                             actor_kind=_actor_kind(request))
        return Response(report.as_dict())
