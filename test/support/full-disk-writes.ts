import type * as fsPromises from 'node:fs/promises';
import { type Mock, vi } from 'vitest';

/**
 * A full disk for code that publishes files through src/episodes/episode-folder.ts (it writes a
 * fresh temp file opened with 'wx'). The test file mocks `open` so this can take it over:
 *
 * ```ts
 * vi.mock('node:fs/promises', async (importOriginal) => {
 *   const actual = await importOriginal<typeof import('node:fs/promises')>();
 *   return { ...actual, open: vi.fn(actual.open) };
 * });
 * ```
 *
 * From the call on, a fresh file whose path `matches` gets 10 bytes, then its write fails with
 * ENOSPC, as a kernel does when the disk fills mid-write. Undo with `mockReset()` on the mock.
 */
export function failFreshWrites(
  open: typeof fsPromises.open,
  matches: (path: string) => boolean = () => true,
) {
  const mocked = vi.mocked(open) as unknown as Mock<typeof fsPromises.open>;
  const actual = mocked.getMockImplementation()!;
  mocked.mockImplementation((async (...args: Parameters<typeof fsPromises.open>) => {
    const handle = await actual(...args);
    if (args[1] !== 'wx' || !matches(String(args[0]))) return handle;
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return Object.assign(Object.create(handle), {
      writeFile: async (data: Uint8Array) => {
        await handle.writeFile(data.subarray(0, 10));
        throw enospc;
      },
      close: () => handle.close(),
    });
  }) as typeof fsPromises.open);
}
