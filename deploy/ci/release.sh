#!/usr/bin/env bash
# After `terraform apply`: run the migrations with the new image as a one-off ECS task, and only if they
# succeed, move the web and worker services to the new task definitions and wait until they are stable.
# A failed migration leaves the running services untouched. ECS's circuit breaker rolls a service back by
# itself if the new tasks never become healthy.
# usage: release.sh outputs.json   (from `terraform output -json`)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/aws-session.sh"
outputs="${1:?usage: release.sh outputs.json}"
out() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]["value"]; print(",".join(v) if isinstance(v, list) else v)' "$outputs" "$1"; }

cluster=$(out cluster_name)
network="awsvpcConfiguration={subnets=[$(out app_subnet_ids)],securityGroups=[$(out migrate_security_group_id)],assignPublicIp=DISABLED}"

echo "== migrations: $(out migrate_task_definition_arn)"
task=$(aws ecs run-task --cluster "$cluster" --launch-type FARGATE \
  --task-definition "$(out migrate_task_definition_arn)" \
  --network-configuration "$network" \
  --started-by "azure-pipelines-${BUILD_BUILDID:-manual}" \
  --query 'tasks[0].taskArn' --output text)
if [ -z "$task" ] || [ "$task" = "None" ]; then
  echo "The migration task did not start." >&2
  exit 1
fi
aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task"
exit_code=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].containers[0].exitCode' --output text)
if [ "$exit_code" != "0" ]; then
  reason=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].stoppedReason' --output text)
  echo "Migrations failed (exit code $exit_code: $reason). The services still run the previous release." >&2
  echo "Logs: CloudWatch log group /migrayt/<name>/migrate, stream migrate/migrate/${task##*/}" >&2
  exit 1
fi

echo "== rolling web and worker"
aws ecs update-service --cluster "$cluster" --service "$(out web_service_name)" \
  --task-definition "$(out web_task_definition_arn)" --query 'service.taskDefinition' --output text
aws ecs update-service --cluster "$cluster" --service "$(out worker_service_name)" \
  --task-definition "$(out worker_task_definition_arn)" --query 'service.taskDefinition' --output text
aws ecs wait services-stable --cluster "$cluster" --services "$(out web_service_name)" "$(out worker_service_name)"

# Stable may mean "rolled back by the circuit breaker": check that the new release is what runs.
for pair in "$(out web_service_name)=$(out web_task_definition_arn)" "$(out worker_service_name)=$(out worker_task_definition_arn)"; do
  service="${pair%%=*}"; expected="${pair#*=}"
  running=$(aws ecs describe-services --cluster "$cluster" --services "$service" --query 'services[0].taskDefinition' --output text)
  if [ "$running" != "$expected" ]; then
    echo "$service was rolled back to $running: the new tasks did not become healthy (see its events and logs)." >&2
    exit 1
  fi
  echo "$service runs $running"
done
echo "Released $(out url)"
