# secdr restorer: lives in the source's data, so it exists in every restored copy.
# The weekly test restore logs in with it on a target that holds an earlier restore of
# the same source, force-restores the newer snapshot over it, and afterwards seals the
# target so no live copy of production stays up. Nothing else: it reads no secret.

# Force-restore a snapshot over the earlier restore (the target's keys are the source's).
path "sys/storage/raft/snapshot-force" {
  capabilities = ["update", "sudo"]
}

# Put the restored copy out of service after verification (restore.targets[].after: seal).
path "sys/seal" {
  capabilities = ["update", "sudo"]
}
