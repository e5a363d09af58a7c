"""deploy/checks.py: the offline stand-in for `terraform validate` and the pipeline's schema check.

checkov itself runs in .ci/run (deploy-checks section), in a venv of its own."""

import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
_spec = importlib.util.spec_from_file_location("deploy_checks", ROOT / "deploy" / "checks.py")
checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checks)

needs_hcl2 = pytest.mark.skipif(
    importlib.util.find_spec("hcl2") is None,
    reason="python-hcl2 is not installed (pip install -r requirements-deploy.txt; .ci/run does)",
)
needs_schema = pytest.mark.skipif(
    not checks.PIPELINE_SCHEMA.exists(), reason=f"Microsoft's pipeline schema is absent ({checks.PIPELINE_SCHEMA})"
)


@pytest.fixture
def terraform_copy(tmp_path, monkeypatch):
    """A copy of deploy/terraform (and the settings it is checked against) to break on purpose."""
    shutil.copytree(ROOT / "deploy" / "terraform", tmp_path / "deploy" / "terraform")
    (tmp_path / "migrayt").mkdir()
    shutil.copy(ROOT / "migrayt" / "settings.py", tmp_path / "migrayt" / "settings.py")
    shutil.copy(ROOT / "Dockerfile", tmp_path / "Dockerfile")
    monkeypatch.setattr(checks, "ROOT", tmp_path)
    monkeypatch.setattr(checks, "TERRAFORM", tmp_path / "deploy" / "terraform")
    return tmp_path / "deploy" / "terraform"


def _replace(path: Path, old: str, new: str):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _all_problems():
    parsed = checks.parse_all()
    return (
        checks.check_wiring(parsed)
        + checks.check_environments(parsed)
        + checks.check_queue_outlasts_tasks(parsed)
        + checks.check_skips_have_reasons()
    )


@needs_hcl2
def test_the_terraform_parses_and_is_wired_together():
    parsed = checks.parse_all()
    assert len(parsed) >= 25
    assert _all_problems() == []


@needs_hcl2
@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("modules/data/queue.tf", "var.queue_visibility_timeout_seconds", "var.queue_visiblity_timeout", "var.queue_visiblity_timeout is not declared"),
        ("modules/service/ecs.tf", "aws_iam_role.worker.arn", "aws_iam_role.workers.arn", "aws_iam_role.workers is not declared"),
        ("main.tf", "module.data.queue_url", "module.data.queue_address", "module.data.queue_address is not an output"),
        ("main.tf", "  alarm_email                      = var.alarm_email\n", "", "does not pass alarm_email"),
        ("main.tf", "  log_retention_days      = var.log_retention_days\n", "  log_retention_days      = var.log_retention_days\n  retention = 3\n", "passes retention"),
        ("environments/production.tfvars", "db_multi_az                 = true", "db_multi_az = false\ndb_multiaz = true", "db_multiaz is not a variable"),
        ("environments/staging.tfvars", 'domain_name             = "staging.migrayt.example.com"\n', "", "domain_name is required"),
        ("main.tf", "var.task_time_limit_seconds + 60", "var.task_time_limit_seconds", "queue_visibility_timeout_seconds must be"),
        ("variables.tf", "default     = 300", "default     = 900", "differs from settings"),
        ("modules/data/staged.tf", "#checkov:skip=CKV_AWS_21:Zero Data Retention: versioning would keep deleted attachments; objects are transient by design.", "#checkov:skip=CKV_AWS_21", "without a reason"),
    ],
)
def test_a_wiring_mistake_is_named(terraform_copy, file, old, new, expected):
    _replace(terraform_copy / file, old, new)
    problems = _all_problems()
    assert any(expected in problem for problem in problems), problems


@needs_hcl2
def test_a_file_that_does_not_parse_is_named(terraform_copy):
    (terraform_copy / "modules" / "network" / "broken.tf").write_text('resource "aws_vpc" "x" {\n  cidr_block = \n')
    with pytest.raises(checks.CheckFailed, match="broken.tf"):
        checks.parse_all()


@needs_schema
def test_the_pipeline_and_its_template_validate_against_microsofts_schema():
    assert checks.validate_pipelines() == []


@needs_schema
@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p["stages"][0]["jobs"][0]["steps"].append({"task": "AWSShellScript@1"}), "steps"),
        (lambda p: p["stages"][0]["jobs"][0].update({"stepz": []}), "stepz"),
        (lambda p: p.update({"triggers": "main"}), "triggers"),
    ],
)
def test_a_broken_pipeline_is_refused(mutate, expected):
    import json

    import jsonschema

    schema = json.loads(checks.PIPELINE_SCHEMA.read_text(encoding="utf-8-sig"))
    pipeline = yaml.load((ROOT / "azure-pipelines.yml").read_text(), Loader=yaml.BaseLoader)  # noqa: S506
    mutate(pipeline)
    problems = checks.pipeline_problems(jsonschema.Draft7Validator(schema), pipeline, "azure-pipelines.yml")
    assert problems and any(expected in problem for problem in problems), problems


def test_the_pipeline_runs_the_readmes_test_command_on_postgresql_and_redis():
    pipeline = yaml.safe_load((ROOT / "azure-pipelines.yml").read_text())
    test_job = pipeline["stages"][0]["jobs"][0]
    assert set(test_job["services"]) == {"postgres", "redis"}
    scripts = [step.get("script", "") for step in test_job["steps"]]
    assert any(script.startswith("make test") for script in scripts)
    assert "make test" in (ROOT / "README.md").read_text()
    images = {c["container"]: c["image"] for c in pipeline["resources"]["containers"]}
    assert images["postgres"].startswith("postgres:") and images["redis"].startswith("redis:")
    deploys = [stage for stage in pipeline["stages"] if "template" in stage]
    assert [d["parameters"]["environment"] for d in deploys] == ["staging", "production"]
