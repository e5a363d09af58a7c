#!/usr/bin/env bash
# Terraform from HashiCorp's signed apt repository, at the version the configuration was written for.
set -euo pipefail
TERRAFORM_VERSION="${TERRAFORM_VERSION:-1.9.8}"
if command -v terraform >/dev/null && terraform version | head -1 | grep -q "v${TERRAFORM_VERSION}$"; then
  exit 0
fi
wget -qO- https://apt.releases.hashicorp.com/gpg | sudo gpg --dearmor -o /usr/share/keyrings/hashicorp-archive-keyring.gpg
echo "deb [signed-by=/usr/share/keyrings/hashicorp-archive-keyring.gpg] https://apt.releases.hashicorp.com $(lsb_release -cs) main" \
  | sudo tee /etc/apt/sources.list.d/hashicorp.list >/dev/null
sudo apt-get update -qq
sudo apt-get install -y -qq "terraform=${TERRAFORM_VERSION}-*"
terraform version
