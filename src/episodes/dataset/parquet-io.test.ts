import { RecordBatchReader, tableFromArrays } from 'apache-arrow';
import { ParquetFile } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { decodeParquet, encodeParquet } from './parquet-io.js';

/** The file's footer key-value metadata, as a Parquet reader that knows no Arrow sees it. */
async function footerKeyValue(bytes: Uint8Array): Promise<Map<string, string>> {
  const file = await ParquetFile.fromFile(new Blob([bytes]));
  return file.metadata().fileMetadata().keyValueMetadata() as Map<string, string>;
}

describe('Parquet encoding of episode files', () => {
  it('stores the metadata in the stored Arrow schema too, which pyarrow reads and writes back (issue #21)', async () => {
    const table = tableFromArrays({ reward: Float32Array.of(-1, 0) });
    const documents = new Map([
      ['armprior.dataset', '{"formatVersion":1}'],
      ['armprior.episode', '{"index":0}'],
    ]);
    const bytes = encodeParquet(table, documents);
    const footer = await footerKeyValue(bytes);
    expect(footer.get('armprior.dataset')).toBe('{"formatVersion":1}');
    // pyarrow builds a table's schema, metadata included, from this entry alone: with the
    // documents only beside it, `pq.write_table(pq.read_table(f), f)` dropped them.
    const stored = RecordBatchReader.from(Buffer.from(footer.get('ARROW:schema')!, 'base64'));
    stored.open();
    expect(Object.fromEntries(stored.schema.metadata)).toEqual(Object.fromEntries(documents));
    const decoded = decodeParquet(bytes, 'test.parquet');
    expect(Object.fromEntries(decoded.keyValue)).toEqual(Object.fromEntries(documents));
    expect([...decoded.table.getChild('reward')!]).toEqual([-1, 0]);
  });
});
