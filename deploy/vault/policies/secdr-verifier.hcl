# secdr restore verifier: exists in the source's data, so it exists in every
# restore. Reads the canary, issues one dynamic database credential and revokes it.

path "secret/data/secdr/canary" {
  capabilities = ["read"]
}

# Adjust to restore.targets[].database.{mount,role}.
path "database/creds/readonly" {
  capabilities = ["read"]
}

# Revoke the credential it just issued (lease ids are scoped to this mount).
path "sys/leases/revoke" {
  capabilities = ["update"]
}
