# Sourced by the pipeline's steps: trade the pipeline's long-lived, assume-only credentials (variable
# group migrayt-aws) for one hour of the environment's deploy role (AWS_DEPLOY_ROLE_ARN).
# deploy/README.md, "From nothing", says how to make both.
set -euo pipefail
: "${AWS_REGION:?AWS_REGION is not set}"
: "${AWS_DEPLOY_ROLE_ARN:?AWS_DEPLOY_ROLE_ARN is not set (variable group migrayt-<environment>)}"
if [ -z "${AWS_ACCESS_KEY_ID:-}" ] || [ -z "${AWS_SECRET_ACCESS_KEY:-}" ]; then
  echo "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set (secret variables of the group migrayt-aws)" >&2
  return 1 2>/dev/null || exit 1
fi
_session=$(aws sts assume-role \
  --role-arn "$AWS_DEPLOY_ROLE_ARN" \
  --role-session-name "azure-pipelines-${BUILD_BUILDID:-local}" \
  --duration-seconds 3600 \
  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <<<"$_session"
unset _session
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
# Hide the temporary credentials from the logs too.
echo "##vso[task.setvariable variable=_aws_session_secret;issecret=true]$AWS_SECRET_ACCESS_KEY"
echo "##vso[task.setvariable variable=_aws_session_token;issecret=true]$AWS_SESSION_TOKEN"
