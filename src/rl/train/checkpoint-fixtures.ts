/** Helpers for tests that damage checkpoints on purpose. */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Replaces `file` of the checkpoint at `dir` and records its new size and hash in the manifest:
 * content that is malformed although every file verifies (written by a bug, or by hand).
 */
export function rewriteSigned(dir: string, file: string, content: string | Uint8Array): void {
  writeFileSync(join(dir, file), content);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const bytes = readFileSync(join(dir, file));
  manifest.files[file] = {
    bytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
}
