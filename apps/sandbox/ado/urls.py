import re

from django.urls import URLPattern, path
from django.urls.resolvers import RegexPattern

from apps.sandbox.ado import apis, views

app_name = "ado"


class CaseInsensitivePattern(RegexPattern):
    """Azure DevOps matches its URLs without regard to case (`workItems`, `workitems`). An inline `(?i)`
    flag would make the whole URLconf unreversible, so the flag is given at compile time instead."""

    def __init__(self, regex, **kwargs):
        super().__init__(regex, **kwargs)
        self.__dict__["regex"] = re.compile(regex, re.IGNORECASE)


def re_path(regex, view):
    return URLPattern(CaseInsensitivePattern(regex, is_endpoint=True), view)


# `site` is the organisation, `project` a name or id.
_S = r"^(?P<site>[\w-]+)/"
_P = r"(?P<project>[^/]+)/"
_OP = r"(?:(?P<project>(?!_apis)[^/]+)/)?"

urlpatterns = [
    path("<slug:site>/", views.site_page, name="site_page"),
    path("<slug:site>/items/<int:item_id>/", views.item_page, name="item_page"),
    path("<slug:site>/attachments/<uuid:guid>/", views.attachment_download, name="attachment_download"),
    re_path(_S + r"_apis/connectionData/?$", apis.connection_data),
    re_path(_S + r"_apis/projects/?$", apis.projects),
    re_path(_S + r"_apis/projects/(?P<project_id>[^/]+)/teams/?$", apis.teams),
    re_path(_S + r"_apis/projects/(?P<project_id>[^/]+)/teams/(?P<team_id>[^/]+)/?$", apis.teams),
    re_path(_S + r"_apis/projects/(?P<project_id>[^/]+)/?$", apis.project_detail),
    re_path(_S + r"_apis/teams/?$", apis.teams),
    re_path(_S + r"_apis/process/processes/?$", apis.processes),
    re_path(_S + r"_apis/process/processes/(?P<process_id>[^/]+)/?$", apis.processes),
    re_path(_S + r"_apis/identities/?$", apis.identities),
    re_path(_S + r"_apis/wit/\$batch/?$", apis.batch),
    re_path(_S + r"_apis/wit/workitemrelationtypes/?$", apis.relation_types),
    re_path(_S + r"_apis/wit/workitemrelationtypes/(?P<relation>[^/]+)/?$", apis.relation_types),
    re_path(_S + _OP + r"_apis/wit/fields/?$", apis.fields),
    re_path(_S + _OP + r"_apis/wit/fields/(?P<field>[^/]+)/?$", apis.fields),
    re_path(_S + _P + r"_apis/wit/workitemtypes/?$", apis.work_item_types),
    re_path(_S + _P + r"_apis/wit/workitemtypes/(?P<type_name>[^/]+)/?$", apis.work_item_types),
    re_path(_S + _P + r"_apis/wit/workitemtypes/(?P<type_name>[^/]+)/(?P<states>states)/?$", apis.work_item_types),
    re_path(_S + _P + r"_apis/wit/classificationnodes/?$", apis.classification_nodes),
    re_path(_S + _P + r"_apis/wit/classificationnodes/(?P<group>[^/]+)(?:/(?P<path>.+?))?/?$", apis.classification_nodes),
    re_path(_S + r"(?:(?P<project>(?!_apis)[^/]+)/(?:(?P<team>(?!_apis)[^/]+)/)?)?_apis/wit/wiql/?$", apis.wiql),
    re_path(_S + _OP + r"_apis/wit/workitemsbatch/?$", apis.work_items_batch),
    re_path(_S + _OP + r"_apis/wit/workitems/?$", apis.work_items_list),
    re_path(_S + _OP + r"_apis/wit/workitems/\$(?P<type_name>[^/]+)/?$", apis.work_item_create),
    re_path(_S + _OP + r"_apis/wit/workitems/(?P<item_id>\d+)/?$", apis.work_item),
    re_path(_S + _OP + r"_apis/wit/workitems/(?P<item_id>\d+)/revisions/?$", apis.revisions),
    re_path(_S + _OP + r"_apis/wit/workitems/(?P<item_id>\d+)/revisions/(?P<rev>\d+)/?$", apis.revisions),
    re_path(_S + _OP + r"_apis/wit/workitems/(?P<item_id>\d+)/updates/?$", apis.updates),
    re_path(_S + _OP + r"_apis/wit/workitems/(?P<item_id>\d+)/updates/(?P<number>\d+)/?$", apis.updates),
    re_path(_S + _OP + r"_apis/wit/workitems/(?P<item_id>\d+)/comments/?$", apis.comments),
    re_path(_S + _OP + r"_apis/wit/workitems/(?P<item_id>\d+)/comments/(?P<comment_id>\d+)/?$", apis.comments),
    re_path(_S + _OP + r"_apis/wit/attachments/?$", apis.attachments),
    re_path(_S + _OP + r"_apis/wit/attachments/(?P<guid>[0-9a-fA-F-]{36})/?$", apis.attachments),
    re_path(_S + _P + r"_apis/wit/recyclebin/?$", apis.recycle_bin),
    re_path(_S + _P + r"_apis/wit/recyclebin/(?P<item_id>\d+)/?$", apis.recycle_bin),
]
