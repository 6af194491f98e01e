import * as nodeModule from 'node:module';

// Imported first by the CLI: Node ≥ 22.1 then keeps the compiled bytecode of every module it
// loads in a cache directory, so the next `secdr` start skips most of the compiling.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
