# secdr CA-outage drill: the renewal it attempts while the CA is down and after it is back.
# Issue only, under the services' role: no root/intermediate management, no revocation,
# no reading other issuers' keys. The CA chain it verifies against is public (unauthenticated).

# Adjust to caOutage.ca.{mount,role}.
path "pki_int/issue/service" {
  capabilities = ["update"]
}
