import { from, Observable, type ObservableInput, type OperatorFunction, Subscription } from 'rxjs';

/**
 * Like rxjs `exhaustMap`: projects a source value to an inner observable and mirrors it, ignoring
 * source values that arrive while the inner is still running, but calls `onSkip(value)` for each
 * ignored value. The control loop counts a tick dropped this way as an overrun: a step that runs
 * past its period never has stale ticks queued behind it.
 *
 * Completes when the source has completed and no inner is running. An error thrown by `project`
 * or `onSkip`, or raised by the source or an inner, errors the output.
 */
export function skipWhileBusy<T, R>(
  project: (value: T, index: number) => ObservableInput<R>,
  onSkip: (value: T) => void,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const subscriptions = new Subscription();
      let busy = false;
      let sourceDone = false;
      let index = 0;
      // Callbacks into user code are wrapped here: an error thrown inside an observer passed to
      // `subscribe` would otherwise be reported as unhandled instead of reaching the subscriber.
      const startInner = (value: T): void => {
        let inner: Observable<R>;
        try {
          inner = from(project(value, index++));
        } catch (error) {
          subscriber.error(error);
          return;
        }
        busy = true;
        const innerSubscription = inner.subscribe({
          next: (result) => subscriber.next(result),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            busy = false;
            if (sourceDone) subscriber.complete();
          },
        });
        // An inner that completed synchronously is already closed: nothing to keep.
        if (!innerSubscription.closed) {
          subscriptions.add(innerSubscription);
          innerSubscription.add(() => subscriptions.remove(innerSubscription));
        }
      };
      subscriptions.add(
        source.subscribe({
          next: (value) => {
            if (!busy) {
              startInner(value);
              return;
            }
            try {
              onSkip(value);
            } catch (error) {
              subscriber.error(error);
            }
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            sourceDone = true;
            if (!busy) subscriber.complete();
          },
        }),
      );
      return subscriptions;
    });
}
