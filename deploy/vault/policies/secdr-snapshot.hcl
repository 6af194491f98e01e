# secdr snapshot worker: take raft snapshots and write the canary, nothing else.
# Attach to the AppRole the worker logs in with (clusters[].auth).

# Stream the raft snapshot (GET /v1/sys/storage/raft/snapshot).
path "sys/storage/raft/snapshot" {
  capabilities = ["read"]
}

# The canary written before each snapshot, so a restore can prove what it restored.
# Adjust the mount/path if clusters[].canary is changed.
path "secret/data/secdr/canary" {
  capabilities = ["create", "update"]
}
