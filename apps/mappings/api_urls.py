from django.urls import path

from apps.mappings import apis

urlpatterns = [
    path("mappings/", apis.MappingSetListCreateApi.as_view(), name="mappings"),
    path("mappings/<int:mapping_set_id>/", apis.MappingSetDetailApi.as_view(), name="mapping"),
    path("mappings/<int:mapping_set_id>/draft/", apis.MappingSetDraftApi.as_view(), name="mapping-draft"),
    path("mappings/<int:mapping_set_id>/llm-payload/", apis.MappingSetLlmPayloadApi.as_view(),
         name="mapping-llm-payload"),
    path("mappings/<int:mapping_set_id>/consent/", apis.MappingSetConsentApi.as_view(), name="mapping-consent"),
    path("mappings/<int:mapping_set_id>/rows/", apis.MappingRowListApi.as_view(), name="mapping-rows"),
    path("mappings/<int:mapping_set_id>/rows/<int:row_id>/", apis.MappingRowDecideApi.as_view(), name="mapping-row"),
    path("mappings/<int:mapping_set_id>/accept/", apis.MappingRowsAcceptApi.as_view(), name="mapping-accept"),
    path("mappings/<int:mapping_set_id>/validation/", apis.MappingSetValidationApi.as_view(),
         name="mapping-validation"),
    path("mappings/<int:mapping_set_id>/approve/", apis.MappingSetApproveApi.as_view(), name="mapping-approve"),
    path("mappings/<int:mapping_set_id>/versions/", apis.MappingVersionListApi.as_view(), name="mapping-versions"),
    path("mappings/<int:mapping_set_id>/export/", apis.MappingSetExportApi.as_view(), name="mapping-export"),
    path("mappings/<int:mapping_set_id>/import/", apis.MappingSetImportApi.as_view(), name="mapping-import"),
    path("mapping-versions/<int:version_id>/", apis.MappingVersionDetailApi.as_view(), name="mapping-version"),
]
