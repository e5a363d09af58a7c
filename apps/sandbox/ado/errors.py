"""The errors of the local Azure DevOps, with the codes and wording of the real service."""

from apps.sandbox.machinery import VendorError


def bad_request(message: str, type_key: str = "VssServiceException") -> VendorError:
    return VendorError(400, message, type_key=type_key)


def rule_error(field_name: str, code: str, detail: str = "") -> VendorError:
    message = f"TF401320: Rule Error for field {field_name}. Error code: {code}."
    if detail:
        message += f" {detail}"
    return VendorError(400, message, type_key="RuleValidationException")


def work_item_not_found(item_id) -> VendorError:
    return VendorError(404, f"TF401232: Work item {item_id} does not exist, or you do not have permissions to read it.",
                       type_key="WorkItemUnauthorizedAccessException")


def project_not_found(name) -> VendorError:
    return VendorError(404, f"TF200016: The following project does not exist: {name}. Verify that the name of the "
                            "project is correct and that the project exists on the specified Azure DevOps Server.",
                       type_key="ProjectDoesNotExistWithNameException")


def read_only_field(ref: str) -> VendorError:
    return VendorError(400, f"TF401326: Invalid field status 'ReadOnly' for field '{ref}'.",
                       type_key="WorkItemFieldInvalidException")


def dates_not_increasing() -> VendorError:
    return VendorError(400, "VS402625: Dates must be increasing with each revision.",
                       type_key="WorkItemDatesNotIncreasingException")


def field_not_found(name: str) -> VendorError:
    """A field the organisation does not know, or one the work item's type does not have: the service answers
    both alike (a 400, TF51535, naming the field as the request did)."""
    return VendorError(400, f"TF51535: Cannot find field {name}.",
                       type_key="WorkItemTrackingFieldDefinitionNotFoundException")
