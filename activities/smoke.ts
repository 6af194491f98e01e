/** A trivial activity proving the worker, codec and server path end to end. */
export function createSmokeActivities() {
  return {
    async echo(message: string): Promise<string> {
      return `echo: ${message}`;
    },
  };
}
