from django.urls import path

from apps.mappings import views

app_name = "mappings"

urlpatterns = [
    path("", views.mapping_list, name="list"),
    path("new/", views.mapping_create, name="create"),
    path("<int:mapping_set_id>/", views.mapping_detail, name="detail"),
    path("<int:mapping_set_id>/status/", views.mapping_status, name="status"),
    path("<int:mapping_set_id>/draft/", views.mapping_draft, name="draft"),
    path("<int:mapping_set_id>/rows/<int:row_id>/", views.mapping_row_decide, name="row_decide"),
    path("<int:mapping_set_id>/rows/<int:row_id>/edit/", views.mapping_row_edit, name="row_edit"),
    path("<int:mapping_set_id>/accept/", views.mapping_accept_above, name="accept_above"),
    path("<int:mapping_set_id>/options/", views.mapping_options, name="options"),
    path("<int:mapping_set_id>/approve/", views.mapping_approve, name="approve"),
    path("<int:mapping_set_id>/model/", views.mapping_llm, name="llm"),
    path("<int:mapping_set_id>/model/consent/", views.mapping_consent, name="consent"),
    path("<int:mapping_set_id>/export/", views.mapping_export, name="export"),
    path("<int:mapping_set_id>/import/", views.mapping_import, name="import"),
    path("<int:mapping_set_id>/delete/", views.mapping_delete, name="delete"),
    path("<int:mapping_set_id>/versions/<int:number>/", views.mapping_version, name="version"),
]
