"""Offline checks of the deployment, run by .ci/run (no terraform binary, no Docker engine, no cloud here):

1. every Terraform file parses (python-hcl2);
2. the Terraform is wired together: every variable, local, module output, resource and data source
   referenced is declared; module calls pass exactly the variables their module declares; every
   environment's .tfvars sets only declared variables and every required one but image_tag (the
   pipeline's); the queue's visibility timeout outlasts the settings' task time limit;
3. checkov passes for each environment's variables and for the Dockerfile, with no failed check; every
   skip sits next to its resource with a reason;
4. azure-pipelines.yml and its templates validate against Microsoft's schema
   (../shared/specs/azure-pipelines/service-schema.json).

usage: python deploy/checks.py [--checkov PATH | --skip-checkov]
Runs with the project's venv plus requirements-deploy.txt (python-hcl2); checkov comes from its own venv
(deploy/requirements-checkov.txt), found with --checkov, $CHECKOV, .venv-ci-checkov/ or the PATH.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TERRAFORM = ROOT / "deploy" / "terraform"
PIPELINE_FILES = [ROOT / "azure-pipelines.yml", ROOT / "deploy" / "ci" / "deploy-environment.yml"]
PIPELINE_SCHEMA = ROOT.parent / "shared" / "specs" / "azure-pipelines" / "service-schema.json"
ENVIRONMENTS = ("staging", "production")
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(:?)(.*)")
# Names Terraform and its providers define, not this configuration.
BUILTIN_PREFIXES = ("path.", "each.", "count.", "self.", "terraform.")


class CheckFailed(Exception):
    pass


def terraform_files() -> list[Path]:
    return sorted(p for p in TERRAFORM.rglob("*") if p.suffix in (".tf", ".tfvars", ".hcl") and ".terraform" not in p.parts)


def _clean(value):
    """python-hcl2 8 keeps HCL's quotes and adds __comments__/__is_block__: plain values, please."""
    if isinstance(value, dict):
        return {_strip(k): _clean(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, str):
        return _strip(value)
    return value


def parse_all() -> dict[Path, dict]:
    import hcl2

    parsed, errors = {}, []
    for path in terraform_files():
        try:
            with open(path) as handle:
                parsed[path] = _clean(hcl2.load(handle))
        except Exception as exc:  # noqa: BLE001 - every file's error is reported, not just the first
            errors.append(f"{path.relative_to(ROOT)}: {exc}")
    if errors:
        raise CheckFailed("Terraform files that do not parse:\n  " + "\n  ".join(errors))
    return parsed


def _strip(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1]
    return name


def module_declarations(parsed: dict[Path, dict], folder: Path) -> dict[str, dict]:
    """What one module (a folder of .tf files) declares."""
    declared = {"variable": {}, "output": set(), "locals": set(), "resource": set(), "data": set(), "module": {}}
    for path, body in parsed.items():
        if path.parent != folder or path.suffix != ".tf":
            continue
        for block in body.get("variable", []):
            for name, spec in block.items():
                declared["variable"][_strip(name)] = spec
        for block in body.get("output", []):
            declared["output"].update(_strip(n) for n in block)
        for block in body.get("locals", []):
            declared["locals"].update(block)
        for kind in ("resource", "data"):
            for block in body.get(kind, []):
                for rtype, instances in block.items():
                    for name in instances:
                        declared[kind].add(f"{_strip(rtype)}.{_strip(name)}")
        for block in body.get("module", []):
            for name, spec in block.items():
                declared["module"][_strip(name)] = spec
    return declared


REFERENCE = re.compile(r"(?<![\w.\"-])(var|local|module|data)\.([a-z0-9_]+)(?:\.([a-z0-9_]+))?")
RESOURCE_REFERENCE = re.compile(r"(?<![\w.\"/:-])((?:aws|random)_[a-z0-9_]+)\.([a-z0-9_]+)\b")


def _source_without_comments(path: Path) -> str:
    lines = []
    for line in path.read_text().splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("#", "//")):
            continue
        lines.append(line)
    return "\n".join(lines)


def check_wiring(parsed: dict[Path, dict]) -> list[str]:
    problems = []
    folders = sorted({p.parent for p in parsed if p.suffix == ".tf"})
    declarations = {folder: module_declarations(parsed, folder) for folder in folders}
    for folder in folders:
        declared = declarations[folder]
        where = folder.relative_to(ROOT)
        for path in sorted(p for p in parsed if p.parent == folder and p.suffix == ".tf"):
            text = _source_without_comments(path)
            for kind, name, attribute in REFERENCE.findall(text):
                if kind == "var" and name not in declared["variable"]:
                    problems.append(f"{path.relative_to(ROOT)}: var.{name} is not declared in {where}")
                elif kind == "local" and name not in declared["locals"]:
                    problems.append(f"{path.relative_to(ROOT)}: local.{name} is not declared in {where}")
                elif kind == "data" and attribute and f"{name}.{attribute}" not in declared["data"]:
                    problems.append(f"{path.relative_to(ROOT)}: data.{name}.{attribute} is not declared in {where}")
                elif kind == "module":
                    if name not in declared["module"]:
                        problems.append(f"{path.relative_to(ROOT)}: module.{name} is not declared in {where}")
                        continue
                    child = (folder / _strip(declared["module"][name]["source"])).resolve()
                    if attribute and attribute not in declarations.get(child, {}).get("output", set()):
                        problems.append(f"{path.relative_to(ROOT)}: module.{name}.{attribute} is not an output of {child.relative_to(ROOT)}")
            for rtype, name in RESOURCE_REFERENCE.findall(text):
                if f"{rtype}.{name}" not in declared["resource"] and not text.count(f'"{rtype}" "{name}"'):
                    problems.append(f"{path.relative_to(ROOT)}: {rtype}.{name} is not declared in {where}")
        for module_name, spec in declared["module"].items():
            child = (folder / _strip(spec["source"])).resolve()
            if child not in declarations:
                problems.append(f"{where}: module {module_name} points at {spec['source']}, which has no .tf files")
                continue
            child_variables = declarations[child]["variable"]
            passed = {k for k in spec if k not in ("source", "version", "providers", "depends_on", "count", "for_each")}
            for unknown in sorted(passed - child_variables.keys()):
                problems.append(f"{where}: module {module_name} passes {unknown}, which {child.relative_to(ROOT)} does not declare")
            for missing in sorted(k for k, v in child_variables.items() if "default" not in v and k not in passed):
                problems.append(f"{where}: module {module_name} does not pass {missing}, which has no default")
    return problems


def check_environments(parsed: dict[Path, dict]) -> list[str]:
    problems = []
    root_variables = module_declarations(parsed, TERRAFORM)["variable"]
    required = {name for name, spec in root_variables.items() if "default" not in spec} - {"image_tag"}
    for environment in ENVIRONMENTS:
        path = TERRAFORM / "environments" / f"{environment}.tfvars"
        if path not in parsed:
            problems.append(f"{path.relative_to(ROOT)} is missing")
            continue
        values = parsed[path]
        for unknown in sorted(values.keys() - root_variables.keys()):
            problems.append(f"{path.relative_to(ROOT)}: {unknown} is not a variable of deploy/terraform")
        for missing in sorted(required - values.keys()):
            problems.append(f"{path.relative_to(ROOT)}: {missing} is required and not set")
        if values.get("environment") != environment:
            problems.append(f"{path.relative_to(ROOT)}: environment must be {environment!r}")
        if not (TERRAFORM / "environments" / f"{environment}.backend.hcl").exists():
            problems.append(f"environments/{environment}.backend.hcl is missing")
    if parsed.get(TERRAFORM / "environments" / "production.tfvars", {}).get("db_deletion_protection") is not True:
        problems.append("production.tfvars must turn db_deletion_protection on")
    if parsed.get(TERRAFORM / "environments" / "production.tfvars", {}).get("db_multi_az") is not True:
        problems.append("production.tfvars must turn db_multi_az on")
    return problems


def check_queue_outlasts_tasks(parsed: dict[Path, dict]) -> list[str]:
    """The SQS visibility timeout must be longer than the longest task, in Terraform and in settings."""
    root = module_declarations(parsed, TERRAFORM)
    hard = root["variable"]["task_time_limit_seconds"]["default"]
    soft = root["variable"]["task_soft_time_limit_seconds"]["default"]
    locals_text = (TERRAFORM / "main.tf").read_text()
    match = re.search(r"queue_visibility_timeout_seconds\s*=\s*var\.task_time_limit_seconds\s*\+\s*(\d+)", locals_text)
    problems = []
    if not match or int(match.group(1)) <= 0:
        problems.append("main.tf: queue_visibility_timeout_seconds must be var.task_time_limit_seconds + a positive margin")
    if soft >= hard:
        problems.append("task_soft_time_limit_seconds must be shorter than task_time_limit_seconds")
    settings_text = (ROOT / "migrayt" / "settings.py").read_text()
    app_hard = re.search(r'CELERY_TASK_TIME_LIMIT = env_int\("CELERY_TASK_TIME_LIMIT", (\d+)', settings_text)
    if not app_hard or int(app_hard.group(1)) != hard:
        problems.append("variables.tf task_time_limit_seconds default differs from settings' CELERY_TASK_TIME_LIMIT default")
    return problems


def check_skips_have_reasons() -> list[str]:
    problems = []
    for path in terraform_files() + [ROOT / "Dockerfile"]:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if match and (not match.group(2) or len(match.group(3).strip()) < 15):
                problems.append(f"{path.relative_to(ROOT)}:{number}: checkov skip {match.group(1)} without a reason")
    return problems


def find_checkov(argv: list[str]) -> str:
    if "--checkov" in argv:
        return argv[argv.index("--checkov") + 1]
    for candidate in (os.environ.get("CHECKOV"), str(ROOT / ".venv-ci-checkov" / "bin" / "checkov"), shutil.which("checkov")):
        if candidate and Path(candidate).exists():
            return candidate
    raise CheckFailed("checkov not found: pip install -r deploy/requirements-checkov.txt into a venv, pass --checkov PATH")


def run_checkov(checkov: str) -> list[str]:
    problems = []
    runs = [
        (f"terraform with {env}.tfvars", ["-d", str(TERRAFORM), "--framework", "terraform",
                                          "--var-file", str(TERRAFORM / "environments" / f"{env}.tfvars")])
        for env in ENVIRONMENTS
    ] + [("Dockerfile", ["-f", str(ROOT / "Dockerfile"), "--framework", "dockerfile"])]
    for label, arguments in runs:
        result = subprocess.run(  # noqa: S603 - our own venv's checkov
            [str(checkov), *arguments, "--skip-download", "--quiet", "--compact", "-o", "json"],
            capture_output=True, text=True, timeout=600,
        )
        try:
            reports = json.loads(result.stdout)
        except ValueError:
            problems.append(f"checkov ({label}) gave no report:\n{result.stderr[-2000:]}")
            continue
        reports = reports if isinstance(reports, list) else [reports]
        passed = failed = skipped = 0
        for report in reports:
            summary = report.get("summary", {})
            passed += summary.get("passed", 0)
            failed += summary.get("failed", 0)
            skipped += summary.get("skipped", 0)
            for check in report.get("results", {}).get("failed_checks", []):
                problems.append(f"checkov ({label}): {check['check_id']} {check['check_name']} - {check['resource']} "
                                f"in {check['file_path']}:{check['file_line_range']}")
        print(f"checkov {label}: {passed} passed, {failed} failed, {skipped} skipped (each with its reason)")
        if passed == 0:
            problems.append(f"checkov ({label}) ran no check")
    return problems


def validate_pipelines() -> list[str]:
    import jsonschema
    import yaml

    if not PIPELINE_SCHEMA.exists():
        raise CheckFailed(f"Microsoft's pipeline schema is not at {PIPELINE_SCHEMA}")
    schema = json.loads(PIPELINE_SCHEMA.read_text(encoding="utf-8-sig"))
    validator = jsonschema.Draft7Validator(schema)
    problems = []
    for path in PIPELINE_FILES:
        # Azure Pipelines reads every scalar as a string, and Microsoft's schema is written that way.
        document = yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds no objects
        problems += pipeline_problems(validator, document, path.relative_to(ROOT))
        # Every script and template the pipeline names must exist in the repository.
        for referenced in re.findall(r"(deploy/[\w./-]+\.(?:sh|yml|py))", path.read_text()):
            if not (ROOT / referenced).exists():
                problems.append(f"{path.relative_to(ROOT)} names {referenced}, which does not exist")
    return problems


def _deepest(error):
    """anyOf errors say only "not valid": follow the alternatives that got furthest into the document."""
    while error.context:
        error = max(error.context, key=lambda e: len(list(e.absolute_path)))
    return error


def pipeline_problems(validator, document, label) -> list[str]:
    problems = []
    for error in validator.iter_errors(document):
        deepest = _deepest(error)
        problems.append(f"{label}: {'/'.join(map(str, deepest.absolute_path)) or '(top)'}: {deepest.message[:300]}")
    return problems


def main(argv: list[str]) -> int:
    problems = []
    parsed = parse_all()
    print(f"terraform: {len(parsed)} files parse")
    problems += check_wiring(parsed) + check_environments(parsed) + check_queue_outlasts_tasks(parsed)
    problems += check_skips_have_reasons()
    if "--skip-checkov" not in argv:
        problems += run_checkov(find_checkov(argv))
    pipeline_problems_found = validate_pipelines()
    print(f"pipelines: {len(PIPELINE_FILES)} files checked against {PIPELINE_SCHEMA.name}")
    problems += pipeline_problems_found
    if problems:
        print("\nDEPLOY CHECKS FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("deploy checks passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except CheckFailed as exc:
        print(f"DEPLOY CHECKS FAILED: {exc}")
        sys.exit(1)
