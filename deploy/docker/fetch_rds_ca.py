"""Fetch Amazon RDS's CA bundle at image build time (the build machine reaches the internet; the tasks
need not), and refuse anything that is not a bundle of PEM certificates."""

import ssl
import sys
import urllib.request

URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"


def main(destination: str) -> None:
    context = ssl.create_default_context()
    with urllib.request.urlopen(URL, timeout=30, context=context) as response:  # noqa: S310 - fixed https URL
        body = response.read().decode("ascii")
    count = body.count("-----BEGIN CERTIFICATE-----")
    if count < 1 or count != body.count("-----END CERTIFICATE-----"):
        sys.exit(f"{URL} did not return PEM certificates")
    with open(destination, "w") as handle:
        handle.write(body)
    print(f"{count} RDS certificate authorities written to {destination}")


if __name__ == "__main__":
    main(sys.argv[1])
