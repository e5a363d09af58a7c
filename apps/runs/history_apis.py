from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from apps.runs import history
from apps.runs.apis import _run_or_404


class RunHistoryCsvApi(APIView):
    @extend_schema(summary="The change history of the run's items as CSV, read from the source now (never stored)",
                   parameters=[OpenApiParameter("items", str, description="comma-separated source item ids; "
                                                "default: every item of the run")],
                   responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, run_id: int):
        run = _run_or_404(request, run_id)
        return history.run_history_csv_response(run=run, items=request.query_params.get("items", ""))
