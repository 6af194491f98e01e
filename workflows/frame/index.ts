// The procedure frame every secdr workflow runs in (see docs/architecture.md).
export { runProcedure, statusQuery, type Procedure, type ProcedureDef, type ProcedureStatus } from './procedure';
export type { Undo } from './compensations';
export type { SloTimer } from './slos';
export { elapsedSeconds, StepLog, type Step } from './step-log';
