"""The container's entry point: small adjustments from the running task, then exec the command.

The load balancer's health check reaches each task by its private address, with that address as the
Host header; Django would refuse it. On ECS the task's own address is read from the task metadata
endpoint (a link-local address inside the task) and added to DJANGO_ALLOWED_HOSTS. The load balancer
forwards only requests for the public host name, so the private address is reachable only from inside the
VPC.
"""

import json
import os
import sys
import urllib.request

METADATA_TIMEOUT_SECONDS = 2


def task_private_addresses(metadata_uri: str | None) -> list[str]:
    if not metadata_uri:
        return []
    try:
        # ECS's own link-local endpoint: never through a proxy.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(metadata_uri, timeout=METADATA_TIMEOUT_SECONDS) as response:
            container = json.load(response)
    except (OSError, ValueError) as exc:
        print(f"entrypoint: task metadata unavailable ({exc.__class__.__name__}); health checks by address will fail", file=sys.stderr)
        return []
    return [address for network in container.get("Networks", []) for address in network.get("IPv4Addresses", [])]


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("entrypoint: no command given")
    addresses = task_private_addresses(os.environ.get("ECS_CONTAINER_METADATA_URI_V4"))
    if addresses:
        hosts = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
        os.environ["DJANGO_ALLOWED_HOSTS"] = ",".join(hosts + [a for a in addresses if a not in hosts])
    os.execvp(argv[0], argv)  # noqa: S606 - the image's own command


if __name__ == "__main__":
    main(sys.argv[1:])
