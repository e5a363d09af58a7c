"""How a failed write is told to the engine, the same for every destination: whether it may have happened
anyway (so it is reconciled, not repeated) and a WriteError that says so in words."""

import httpx

from apps.connections.connectors.errors import ConnectorError
from apps.connections.connectors.records import ErrorCategory, WriteError


def may_have_happened(exc: ConnectorError) -> bool:
    """Whether a failed write may have happened anyway."""
    if exc.status_code in (500, 502, 504):
        return True
    if exc.code in ("connection_dropped", "network_error"):
        return True
    if exc.code == "timeout":
        cause = exc.__cause__
        return cause is not None and not isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout)
    return False


def write_error_from(exc: ConnectorError, *, what: str, vendor: str) -> WriteError:
    ambiguous = may_have_happened(exc)
    message = f"Could not {what}: {exc.message}"
    if ambiguous:
        message += f" The request may have reached {vendor}, so it was not repeated: reconcile before writing it again."
    return WriteError(category=ErrorCategory(exc.kind), code=exc.code, message=message, ambiguous=ambiguous,
                      details={k: v for k, v in exc.details.items() if k in ("attempts", "retry_after_seconds")}
                      | ({"status": exc.status_code} if exc.status_code else {}))
