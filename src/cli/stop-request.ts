/**
 * Ctrl-C (or SIGTERM) during a long job that can stop cleanly (training, an experiment): the
 * first asks the job to stop at its next checkpoint and says so; a second quits at once (exit 130).
 */
export interface StopRequest {
  /** Whether a stop was asked for: the job polls this between rounds. */
  readonly requested: () => boolean;
  /** Stops listening (the signals' default handling comes back). */
  readonly dispose: () => void;
}

export function listenForStop(message: string): StopRequest {
  let requested = false;
  const onSignal = () => {
    if (requested) process.exit(130);
    requested = true;
    process.stderr.write(`\narmprior: ${message} (Ctrl-C again to quit now)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => requested,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
