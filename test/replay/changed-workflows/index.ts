// The current workflows with one deliberate, non-deterministic change: the snapshot writes
// its canary before it finds the active node. Replaying a recorded snapshot against this
// bundle must fail; it proves the replay test can fail.
export * from '../../../workflows';
export { vaultSnapshotWorkflow } from './vault-snapshot-reordered';
