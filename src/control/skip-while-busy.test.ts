import { map, of, throwError, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { skipWhileBusy } from './skip-while-busy.js';

function virtualScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('skipWhileBusy', () => {
  it('drops values that arrive while the inner runs, reporting each to onSkip', () => {
    const ts = virtualScheduler();
    const skipped: string[] = [];
    ts.run(({ hot, expectObservable }) => {
      // a@0 b@2 c@4 d@6, complete@8; each inner takes 3 ms.
      const source = hot('a 1ms b 1ms c 1ms d 1ms |');
      const out = source.pipe(
        skipWhileBusy(
          (v) => timer(3, ts).pipe(map(() => v.toUpperCase())),
          (v) => skipped.push(v),
        ),
      );
      expectObservable(out).toBe('3ms A 3ms C |');
    });
    expect(skipped).toEqual(['b', 'd']);
  });

  it('passes the index of the projected values, not counting skipped ones', () => {
    const ts = virtualScheduler();
    ts.run(({ hot, expectObservable }) => {
      const source = hot('a 1ms b 1ms c |');
      const out = source.pipe(
        skipWhileBusy(
          (v, i) => timer(3, ts).pipe(map(() => `${v}${i}`)),
          () => {},
        ),
      );
      expectObservable(out).toBe('3ms x 3ms (y|)', { x: 'a0', y: 'c1' });
    });
  });

  it('takes every value when each inner completes synchronously', () => {
    const skipped: string[] = [];
    const out: string[] = [];
    let completed = false;
    of('a', 'b', 'c')
      .pipe(
        skipWhileBusy(
          (v) => of(v, v),
          (v) => skipped.push(v),
        ),
      )
      .subscribe({ next: (v) => out.push(v), complete: () => (completed = true) });
    expect(out).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
    expect(skipped).toEqual([]);
    expect(completed).toBe(true);
  });

  it('waits for a running inner before completing', () => {
    const ts = virtualScheduler();
    ts.run(({ cold, expectObservable }) => {
      const out = cold('a|').pipe(
        skipWhileBusy(
          () => timer(5, ts),
          () => {},
        ),
      );
      expectObservable(out).toBe('5ms (z|)', { z: 0 });
    });
  });

  it('errors when project throws, when an inner errors, or when onSkip throws', () => {
    const ts = virtualScheduler();
    ts.run(({ cold, expectObservable }) => {
      const boom = new Error('boom');
      expectObservable(
        cold('a|').pipe(
          skipWhileBusy(
            () => {
              throw boom;
            },
            () => {},
          ),
        ),
      ).toBe('#', undefined, boom);
      expectObservable(
        cold('a|').pipe(
          skipWhileBusy(
            () => throwError(() => boom),
            () => {},
          ),
        ),
      ).toBe('#', undefined, boom);
      expectObservable(
        cold('ab|').pipe(
          skipWhileBusy(
            () => timer(5, ts),
            () => {
              throw boom;
            },
          ),
        ),
      ).toBe('-#', undefined, boom);
    });
  });

  it('unsubscribes the running inner when unsubscribed', () => {
    const ts = virtualScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('----x|');
      expectObservable(
        cold('a|').pipe(
          skipWhileBusy(
            () => inner,
            () => {},
          ),
        ),
        '^ 2ms !',
      ).toBe('');
      expectSubscriptions(inner.subscriptions).toBe('^ 2ms !');
    });
  });
});
