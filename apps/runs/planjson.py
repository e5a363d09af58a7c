"""A MappingPlan as JSON on the run (schema names and ids only), and back."""

from dataclasses import asdict, fields

from apps.mappings.drafting.proposals import Transform
from apps.mappings.plan import FieldRule, MappingPlan, TypeRule

TUPLE_KEYED = ("states", "state_paths")


def plan_to_dict(plan: MappingPlan) -> dict:
    data = {}
    for f in fields(plan):
        value = getattr(plan, f.name)
        if f.name == "types":
            value = {k: asdict(v) for k, v in value.items()}
        elif f.name == "fields":
            value = {k: {**asdict(v), "transform": str(v.transform)} for k, v in value.items()}
        elif f.name in TUPLE_KEYED:
            value = [[k[0], k[1], list(v) if isinstance(v, tuple) else v] for k, v in value.items()]
        data[f.name] = value
    return data


def plan_from_dict(data: dict) -> MappingPlan:
    known = {f.name for f in fields(MappingPlan)}
    values = {k: v for k, v in data.items() if k in known}
    values["types"] = {k: TypeRule(**v) for k, v in data.get("types", {}).items()}
    values["fields"] = {k: FieldRule(**{**v, "transform": Transform(v["transform"])})
                        for k, v in data.get("fields", {}).items()}
    for name in TUPLE_KEYED:
        if name in known:
            values[name] = {(a, b): (tuple(c) if isinstance(c, list) else c) for a, b, c in data.get(name, [])}
    return MappingPlan(**values)
